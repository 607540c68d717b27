"""The reference DNS parser for differential tests: scapy's dissector, mapped to DnsMessage.

The analyzer reads DNS with benches.analysis.protocols.dns (three orders of magnitude
faster); the tests check it gives the same answers as scapy does.
"""

from __future__ import annotations

import ipaddress

from scapy.layers.dns import DNS

from benches.analysis.protocols.dns import DnsMessage, DnsRecord
from benches.analysis.protocols.tls import normalise_name

DNS_TYPES = {1: "A", 5: "CNAME", 28: "AAAA"}  # the record types DnsMessage keeps


def parse_dns(data: bytes) -> DnsMessage | None:
    """One DNS message (a UDP payload); None when it is not one."""
    if len(data) < 12:
        return None
    try:
        message = DNS(data)
        return _dns_message(message)
    except Exception:  # scapy raises anything on hostile bytes
        return None


def _dns_message(message: DNS) -> DnsMessage | None:
    questions = list(message.qd or [])
    answers = list(message.an or [])
    if message.opcode != 0 or len(questions) != message.qdcount or not questions:
        return None
    if len(answers) != message.ancount:
        return None
    names = []
    for question in questions:
        name = normalise_name(question.qname)
        if name is None:
            return None
        names.append(name)
    records = []
    for answer in answers:
        kind = DNS_TYPES.get(int(answer.type))
        owner = normalise_name(answer.rrname)
        if kind is None or owner is None:
            continue
        value = _record_value(kind, answer.rdata)
        if value is not None:
            records.append(DnsRecord(owner, kind, value))
    return DnsMessage(
        id=int(message.id),
        response=bool(message.qr),
        rcode=int(message.rcode),
        questions=tuple(names),
        answers=tuple(records),
    )


def _record_value(kind: str, rdata: object) -> str | None:
    if kind == "CNAME":
        return normalise_name(rdata) if isinstance(rdata, bytes | str) else None
    try:
        address = ipaddress.ip_address(str(rdata))
    except ValueError:
        return None
    if (kind == "A") != (address.version == 4):
        return None
    return str(address)
