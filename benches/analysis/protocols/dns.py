"""DNS messages (RFC 1035) read straight from the wire, for the packet path.

The same answer as scapy's dissector (tests/support/dns_oracle.py checks it), without
building a scapy packet per message (three orders of magnitude faster): the
questions, and the A, AAAA and CNAME records of the answer section. Names may
be compressed; a pointer must point backwards, so a loop cannot hang it.
Anything malformed is None; nothing raises.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import NamedTuple

from benches.analysis.protocols.tls import normalise_name

A, CNAME, AAAA = 1, 5, 28
MAX_CNAME_HOPS = 16


class DnsRecord(NamedTuple):
    name: str  # the record's owner name, normalised
    type: str  # "A", "AAAA" or "CNAME"
    value: str  # an address, or the canonical name for a CNAME


class DnsMessage(NamedTuple):
    id: int
    response: bool
    rcode: int
    questions: tuple[str, ...]  # query names, normalised
    answers: tuple[DnsRecord, ...]  # A, AAAA and CNAME answers; other types are left out

    def addresses(self) -> dict[str, tuple[str, ...]]:
        """Map each answered address to its name chain: the queried name first, the
        name that owns the address record last (CNAMEs in between)."""
        aliases = {r.value: r.name for r in self.answers if r.type == "CNAME"}
        result: dict[str, tuple[str, ...]] = {}
        for record in self.answers:
            if record.type not in ("A", "AAAA"):
                continue
            chain = [record.name]
            while chain[0] not in self.questions and len(chain) <= MAX_CNAME_HOPS:
                previous = aliases.get(chain[0])
                if previous is None or previous in chain:
                    break
                chain.insert(0, previous)
            result.setdefault(record.value, tuple(chain))
        return result


MAX_LABELS = 128

_header = struct.Struct("!HHHH").unpack_from
_ident = struct.Struct("!H").unpack_from
_record = struct.Struct("!HHIH").unpack_from
_question = struct.Struct("!HH").unpack_from


class _Bad(Exception):
    """Not a DNS message."""


# A phone asks for the same few names again and again, and gets the same answers: a
# message is read once per content (all but its ID).
_KNOWN: dict[bytes, tuple[bool, int, tuple[str, ...], tuple[DnsRecord, ...]] | None] = {}
_KNOWN_SIZE = 4096


def parse_dns(data: bytes) -> DnsMessage | None:
    """One DNS message (a UDP payload, or one message of a TCP stream); None if it is not."""
    if len(data) < 12:
        return None
    content = data[2:]
    if content in _KNOWN:
        known = _KNOWN[content]
        return None if known is None else DnsMessage(_ident(data, 0)[0], *known)
    try:
        message = _message(data)
    except (_Bad, struct.error, IndexError):
        message = None
    if len(_KNOWN) >= _KNOWN_SIZE:
        _KNOWN.clear()
    _KNOWN[content] = None if message is None else message[1:]
    return message


def _message(data: bytes) -> DnsMessage | None:
    ident, flags, questions, answers = _header(data, 0)
    if (flags >> 11) & 0xF != 0 or questions == 0:  # opcode QUERY, at least one question
        return None
    seen: dict[int, bytes] = {}  # offset -> the name that starts there (pointers reuse them)
    offset = 12
    names = []
    for _ in range(questions):
        raw, offset = _name(data, offset, seen)
        if offset + 4 > len(data):
            return None
        offset += 4  # type, class
        name = _normal(raw)
        if name is None:
            return None
        names.append(name)
    records = []
    for _ in range(answers):
        raw, offset = _name(data, offset, seen)
        kind, _, _, length = _record(data, offset)
        offset += 10
        rdata = data[offset : offset + length]
        if len(rdata) < length:
            return None  # the answer section is cut short
        value = _value(data, kind, offset, rdata, seen)
        offset += length
        owner = _normal(raw)
        if value is not None and owner is not None:
            records.append(DnsRecord(owner, _TYPES[kind], value))
    return DnsMessage(ident, bool(flags >> 15), flags & 0xF, tuple(names), tuple(records))


_TYPES = {A: "A", CNAME: "CNAME", AAAA: "AAAA"}
_NORMAL: dict[bytes, str | None] = {}  # a phone asks for the same few names again and again
_NORMAL_SIZE = 4096


def _normal(raw: bytes) -> str | None:
    if raw in _NORMAL:
        return _NORMAL[raw]
    if len(_NORMAL) >= _NORMAL_SIZE:
        _NORMAL.clear()
    name = _NORMAL[raw] = normalise_name(raw)
    return name


def _value(data: bytes, kind: int, offset: int, rdata: bytes, seen: dict[int, bytes]) -> str | None:
    if kind == A:
        return socket.inet_ntoa(rdata) if len(rdata) == 4 else None
    if kind == AAAA:
        return str(ipaddress.IPv6Address(rdata)) if len(rdata) == 16 else None
    if kind == CNAME:
        return _normal(_name(data, offset, seen)[0])
    return None


def _name(data: bytes, offset: int, seen: dict[int, bytes]) -> tuple[bytes, int]:
    """(the name at ``offset``, dot-joined, with its trailing dot; the offset after it)."""
    labels: list[bytes] = []
    end = None  # where the name ends in place, once a pointer was followed
    position = offset
    for _ in range(MAX_LABELS):
        length = data[position]
        if length == 0:
            name = b".".join(labels) + b"."
            break
        if length >= 0xC0:  # a compression pointer
            target = ((length & 0x3F) << 8) | data[position + 1]
            if target >= position:
                raise _Bad  # pointers go backwards: no loops
            if end is None:
                end = position + 2
            known = seen.get(target)
            if known is not None:
                name = b".".join([*labels, known]) if labels else known
                break
            position = target
            continue
        if length > 63:
            raise _Bad
        label = data[position + 1 : position + 1 + length]
        if len(label) < length:
            raise _Bad
        labels.append(label)
        position += 1 + length
    else:
        raise _Bad
    seen[offset] = name
    return name, position + 1 if end is None else end
