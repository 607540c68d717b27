"""Just enough of the DNS wire format (RFC 1035) for the virtual rack.

The virtual phones ask and the simulated resolver answers with these; the
analyzer has its own, defensive parser and never uses this module.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A = 1
TYPE_AAAA = 28
_CLASS_IN = 1
_FLAG_RESPONSE = 0x8000
_FLAG_RECURSION_DESIRED = 0x0100
_FLAG_RECURSION_AVAILABLE = 0x0080
_RCODE_NXDOMAIN = 3


@dataclass(frozen=True)
class Question:
    txid: int
    name: str
    qtype: int
    raw: bytes  # the question section as sent, echoed in the answer


def encode_name(name: str) -> bytes:
    labels = [label.encode("ascii") for label in name.rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def build_query(txid: int, name: str, qtype: int = TYPE_A) -> bytes:
    header = struct.pack("!HHHHHH", txid, _FLAG_RECURSION_DESIRED, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", qtype, _CLASS_IN)


def parse_question(packet: bytes) -> Question | None:
    """The first question of a query, or None if it is not one we can read."""
    if len(packet) < 12:
        return None
    txid, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if flags & _FLAG_RESPONSE or qdcount < 1:
        return None
    labels, offset = [], 12
    while offset < len(packet):
        length = packet[offset]
        if length == 0 or length > 63:
            break
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    if offset + 5 > len(packet) or packet[offset] != 0:
        return None
    qtype = struct.unpack("!H", packet[offset + 1 : offset + 3])[0]
    return Question(txid, ".".join(labels).lower(), qtype, packet[12 : offset + 5])


def build_answer(question: Question, address: str | None) -> bytes:
    """An answer with `address`, an empty answer for the other family, or NXDOMAIN."""
    flags = _FLAG_RESPONSE | _FLAG_RECURSION_DESIRED | _FLAG_RECURSION_AVAILABLE
    records = b""
    if address is None:
        flags |= _RCODE_NXDOMAIN
    else:
        packed = ipaddress.ip_address(address).packed
        wanted = TYPE_A if len(packed) == 4 else TYPE_AAAA
        if question.qtype == wanted:
            # 0xC00C: a pointer to the name in the question.
            records = struct.pack("!HHHIH", 0xC00C, wanted, _CLASS_IN, 60, len(packed)) + packed
    header = struct.pack("!HHHHHH", question.txid, flags, 1, 1 if records else 0, 0, 0)
    return header + question.raw + records


def first_address(response: bytes, txid: int) -> str | None:
    """The first A/AAAA address in a response to our query `txid`, if any."""
    if len(response) < 12 or struct.unpack("!H", response[:2])[0] != txid:
        return None
    ancount = struct.unpack("!H", response[6:8])[0]
    offset = 12
    while offset < len(response) and response[offset] != 0:  # skip the question name
        offset += 1 + response[offset]
    offset += 5
    for _ in range(ancount):
        if offset + 12 > len(response):
            return None
        rtype, _cls, _ttl, rdlength = struct.unpack("!HHIH", response[offset + 2 : offset + 12])
        rdata = response[offset + 12 : offset + 12 + rdlength]
        if rtype in (TYPE_A, TYPE_AAAA) and len(rdata) in (4, 16):
            return str(ipaddress.ip_address(rdata))
        offset += 12 + rdlength
    return None
