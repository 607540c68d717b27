"""DNS from the wire gives what the scapy-based parser gives, and never raises."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR

from benches.analysis.protocols import dns
from tests.support import dns_oracle

MESSAGES = [
    DNS(id=3, rd=1, qd=[DNSQR(qname="Canary-1.Bench.Example.")]),
    DNS(
        id=9,
        qr=1,
        qd=[DNSQR(qname="fota.vendor.example")],
        an=[
            DNSRR(rrname="fota.vendor.example", type="CNAME", rdata="edge.cdn.example"),
            DNSRR(rrname="edge.cdn.example", type="A", rdata="203.0.113.7"),
            DNSRR(rrname="edge.cdn.example", type="AAAA", rdata="2001:db8::7"),
            DNSRR(rrname="edge.cdn.example", type="TXT", rdata="ignored"),
        ],
    ),
    DNS(id=1, qr=1, rcode=3, qd=[DNSQR(qname="nx.example")]),
    DNS(id=2, qr=1, qd=[DNSQR(qname="a.example"), DNSQR(qname="b.example", qtype="AAAA")]),
    DNS(id=4, opcode=2, qd=[DNSQR(qname="status.example")]),  # not a query: None
]


@pytest.mark.parametrize("message", MESSAGES, ids=range(len(MESSAGES)))
def test_same_answer_as_the_reference_parser(message: DNS) -> None:
    data = bytes(message)
    assert dns.parse_dns(data) == dns_oracle.parse_dns(data)


def test_compressed_names_are_followed() -> None:
    question = b"\x04fota\x06vendor\x07example\x00"  # at offset 12; "vendor" at 17
    data = struct.pack("!HHHHHH", 7, 0x8180, 1, 2, 0, 0) + question + b"\x00\x01\x00\x01"
    cname = b"\x04edge\xc0\x11"  # edge.vendor.example, compressed; "edge" lands at 49
    data += b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, len(cname)) + cname
    data += b"\xc0\x31" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([203, 0, 113, 7])
    parsed = dns.parse_dns(data)
    assert parsed is not None
    assert parsed.addresses() == {"203.0.113.7": ("fota.vendor.example", "edge.vendor.example")}
    assert parsed == dns_oracle.parse_dns(data)


def test_a_pointer_loop_is_not_a_message() -> None:
    header = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0)
    assert dns.parse_dns(header + b"\xc0\x0c\x00\x01\x00\x01") is None  # points at itself
    assert dns.parse_dns(header + b"\x01a\xc0\x0c\x00\x01\x00\x01") is None  # backwards loop


@pytest.mark.parametrize("cut", [13, 20, 40, -3])
def test_cut_short_is_not_a_message(cut: int) -> None:
    assert dns.parse_dns(bytes(MESSAGES[1])[:cut]) is None


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    dns.parse_dns(data)
    dns.parse_dns(bytes(MESSAGES[1])[:12] + data)


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
NAME = st.lists(LABEL, min_size=1, max_size=4).map(".".join)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    names = draw(st.lists(NAME, min_size=1, max_size=3))
    records = []
    for _ in range(draw(st.integers(0, 4))):
        owner = draw(st.sampled_from(names))
        kind = draw(st.sampled_from(["A", "AAAA", "CNAME"]))
        if kind == "A":
            rdata = draw(st.ip_addresses(v=4).map(str))
        elif kind == "AAAA":
            rdata = draw(st.ip_addresses(v=6).map(str))
        else:
            rdata = draw(NAME)
        records.append(DNSRR(rrname=owner, type=kind, rdata=rdata))
    query = [DNSQR(qname=n) for n in names]
    return bytes(DNS(id=draw(st.integers(0, 65535)), qr=bool(records), qd=query, an=records))


@settings(max_examples=200, deadline=None)
@given(data=messages())
def test_random_messages_read_as_the_reference_reads_them(data: bytes) -> None:
    assert dns.parse_dns(data) == dns_oracle.parse_dns(data)
