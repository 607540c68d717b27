"""The protocol parsers read hostile bytes: right answers on real messages, None on garbage."""

from __future__ import annotations

import struct
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR

from benches.analysis.protocols.dns import DnsMessage, parse_dns
from benches.analysis.protocols.http import HttpRequest
from benches.analysis.protocols.readers import DnsReader, Facts, TlsHello, http_readers
from benches.analysis.protocols.tls import parse_client_hello_message, parse_tls_client_hello
from tests.support.pcaps import client_hello, http_post
from tests.support.workcount import count_lines


def dns_over_tcp(data: bytes) -> list[DnsMessage]:
    """The DNS messages of a TCP stream (each with its two-byte length), as the analyzer
    reads them: through its DNS reader."""
    messages: list[DnsMessage] = []
    reader = DnsReader(Facts(), lambda frame, time, message: messages.append(message))
    reader.data(data, 1, 0.0)
    reader.close(1)
    return messages


def first_request(data: bytes) -> HttpRequest | None:
    """The first request of a client's stream, as the analyzer keeps it: through its HTTP
    reader (benches.analysis.protocols.http's parser)."""
    facts = Facts()
    requests, _ = http_readers(facts, lambda message, frame: None, lambda message, frame: None)
    requests.data(data, 1, 0.0)
    requests.close(1)
    return facts.http


# --- DNS -------------------------------------------------------------------


def _answer(*records: DNSRR, name: str = "fota.vendor.example") -> bytes:
    return bytes(DNS(id=9, qr=1, qd=[DNSQR(qname=name)], an=list(records)))


def test_dns_query_names_are_normalised() -> None:
    message = parse_dns(bytes(DNS(id=3, rd=1, qd=[DNSQR(qname="Canary-1.Bench.Example.")])))
    assert message is not None
    assert not message.response
    assert message.questions == ("canary-1.bench.example",)
    assert message.answers == ()


def test_dns_answer_maps_addresses_to_the_queried_name() -> None:
    data = _answer(
        DNSRR(rrname="fota.vendor.example", type="A", rdata="203.0.113.7"),
        DNSRR(rrname="fota.vendor.example", type="AAAA", rdata="2001:db8::7"),
    )
    message = parse_dns(data)
    assert message is not None and message.response
    assert message.addresses() == {
        "203.0.113.7": ("fota.vendor.example",),
        "2001:db8::7": ("fota.vendor.example",),
    }


def test_dns_cname_chain_leads_back_to_the_queried_name() -> None:
    data = _answer(
        DNSRR(rrname="fota.vendor.example", type="CNAME", rdata="fota.vendor.example.cdn.net"),
        DNSRR(rrname="fota.vendor.example.cdn.net", type="CNAME", rdata="e1.cdn.net"),
        DNSRR(rrname="e1.cdn.net", type="A", rdata="198.51.100.1"),
    )
    message = parse_dns(data)
    assert message is not None
    assert message.addresses() == {
        "198.51.100.1": ("fota.vendor.example", "fota.vendor.example.cdn.net", "e1.cdn.net")
    }


def test_dns_cname_loop_terminates() -> None:
    data = _answer(
        DNSRR(rrname="a.example", type="CNAME", rdata="b.example"),
        DNSRR(rrname="b.example", type="CNAME", rdata="a.example"),
        DNSRR(rrname="b.example", type="A", rdata="198.51.100.2"),
        name="c.example",
    )
    message = parse_dns(data)
    assert message is not None
    chain = message.addresses()["198.51.100.2"]
    assert chain[-1] == "b.example" and len(chain) <= 3


def test_dns_over_tcp_stream() -> None:
    one = bytes(DNS(id=1, qd=[DNSQR(qname="a.example")]))
    two = bytes(DNS(id=2, qd=[DNSQR(qname="b.example")]))
    stream = struct.pack("!H", len(one)) + one + struct.pack("!H", len(two)) + two
    assert [m.questions for m in dns_over_tcp(stream)] == [("a.example",), ("b.example",)]
    assert dns_over_tcp(stream[:-3]) == dns_over_tcp(stream)[:1]


def test_dns_garbage_is_none() -> None:
    assert parse_dns(b"") is None
    assert parse_dns(b"\x00" * 5) is None
    assert parse_dns(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") is None


# --- TLS -------------------------------------------------------------------


def test_client_hello_sni() -> None:
    hello = parse_tls_client_hello(client_hello("fota.vendor.example"))
    assert hello is not None
    assert hello.sni == "fota.vendor.example"
    assert hello.legacy_version == 0x0303


def test_client_hello_across_two_records() -> None:
    hello = parse_tls_client_hello(client_hello("Fota.Vendor.Example", record_split=40))
    assert hello is not None and hello.sni == "fota.vendor.example"


def test_client_hello_without_sni_is_still_tls() -> None:
    hello = parse_tls_client_hello(client_hello(None))
    assert hello is not None and hello.sni is None


def test_client_hello_cut_short_is_tls_without_a_name() -> None:
    data = client_hello("fota.vendor.example")
    hello = parse_tls_client_hello(data[:60])
    assert hello is not None and hello.sni is None


def test_client_hello_message_without_a_record_header() -> None:
    message = client_hello("quic.vendor.example")[5:]  # as QUIC CRYPTO frames carry it
    hello = parse_client_hello_message(message)
    assert hello is not None and hello.sni == "quic.vendor.example"
    assert parse_client_hello_message(client_hello("quic.vendor.example")) is None


def test_client_hello_cut_after_the_sni_keeps_it() -> None:
    name = b"first.vendor.example"
    entry = b"\x00" + struct.pack("!H", len(name)) + name
    sni = struct.pack("!HHH", 0, len(entry) + 2, len(entry)) + entry
    padding = struct.pack("!HH", 21, 300) + bytes(300)
    extensions = sni + padding
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(extensions)) + extensions
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    for cut in (len(message) - 250, len(message)):
        hello = parse_client_hello_message(message[:cut])
        assert hello is not None and hello.sni == "first.vendor.example", cut
    cut_in_sni = parse_client_hello_message(message[: len(message) - len(padding) - 3])
    assert cut_in_sni is not None and cut_in_sni.sni is None


def test_not_a_client_hello() -> None:
    assert parse_tls_client_hello(b"") is None
    assert parse_tls_client_hello(b"\x16\x03\x01\x00") is None
    assert parse_tls_client_hello(http_post("a.example", "/", b"{}")) is None
    server_hello = bytearray(client_hello("x.example"))
    server_hello[5] = 2  # handshake type ServerHello
    assert parse_tls_client_hello(bytes(server_hello)) is None


# --- HTTP ------------------------------------------------------------------


def test_http_request_line_and_host() -> None:
    request = first_request(http_post("zfhmd.vnet.cn:80", "/activation", b"{}"))
    assert request is not None
    assert (request.method, request.target, request.version) == (
        "POST",
        "/activation",
        "HTTP/1.1",
    )
    assert request.host == "zfhmd.vnet.cn"


def test_http_host_forms() -> None:
    def host(value: bytes) -> str | None:
        request = first_request(b"GET / HTTP/1.0\r\nhOsT: " + value + b"\r\n\r\n")
        assert request is not None
        return request.host

    assert host(b"Example.COM.") == "example.com"
    assert host(b"[2001:db8::1]:8080") == "2001:db8::1"
    assert host(b"bad host:80") is None
    assert host(b"example.com:http") is None


def test_http_without_host() -> None:
    request = first_request(b"GET /x HTTP/1.1\r\nAccept: */*\r\n\r\nHost: body.example\r\n")
    assert request is not None and request.host is None


def test_not_http() -> None:
    assert first_request(b"") is None
    assert first_request(b"HELLO\r\n") is None
    assert first_request(b"get / HTTP/1.1\r\n") is None
    assert first_request(client_hello("a.example")) is None


# --- fuzz ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_parsers_never_raise_on_random_bytes(data: bytes) -> None:
    parse_dns(data)
    dns_over_tcp(data)
    parse_tls_client_hello(data)
    parse_client_hello_message(data)
    first_request(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_parsers_never_raise_on_damaged_messages(data: st.DataObject) -> None:
    originals = [
        client_hello("fota.vendor.example"),
        http_post("zfhmd.vnet.cn", "/activation", b'{"imei":"1"}'),
        bytes(DNS(id=1, qr=1, qd=[DNSQR(qname="a.example")], an=[DNSRR(rrname="a.example")])),
    ]
    message = bytearray(data.draw(st.sampled_from(originals)))
    for _ in range(data.draw(st.integers(0, 8))):
        index = data.draw(st.integers(0, len(message) - 1))
        message[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(message)))
    damaged = bytes(message[:cut])
    parse_dns(damaged)
    dns_over_tcp(damaged)
    parse_tls_client_hello(damaged)
    first_request(damaged)


# --- the ClientHello reader on a stream ---------------------------------------------


def hello_read(chunks: list[bytes]) -> tuple[Facts, int]:
    """Feed a TlsHello ``chunks``; the facts and how many chunks it took before it stopped."""
    facts = Facts()
    reader = TlsHello(facts)
    for taken, chunk in enumerate(chunks, 1):
        if not reader.data(chunk, taken, 0.0):
            return facts, taken
    reader.close(len(chunks))
    return facts, len(chunks)


def as_records(message: bytes, size: int) -> bytes:
    return b"".join(
        struct.pack("!BBBH", 22, 3, 1, len(message[i : i + size])) + message[i : i + size]
        for i in range(0, len(message), size)
    )


@settings(max_examples=200, deadline=None)
@given(
    record=st.integers(1, 600),
    cuts=st.lists(st.integers(1, 2000), max_size=40),
)
def test_the_hello_reader_finds_the_name_however_records_and_segments_cut_it(
    record: int, cuts: list[int]
) -> None:
    stream = as_records(client_hello("fota.vendor.example")[5:], record) + b"\x17\x03\x03"
    bounds = sorted({c for c in cuts if c < len(stream)} | {0, len(stream)})
    chunks = [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    facts, _ = hello_read(chunks)
    assert facts.client_hello is not None and facts.client_hello.sni == "fota.vendor.example"


def test_the_hello_reader_stops_once_the_message_is_whole() -> None:
    message = client_hello("fota.vendor.example")[5:]
    stream = as_records(message, 1)  # one byte of handshake per record
    chunks = [stream[i : i + 6] for i in range(0, len(stream), 6)] + [b"more"] * 3
    facts, taken = hello_read(chunks)
    assert taken == len(message)  # at the record that completed it, not later
    assert facts.client_hello is not None and facts.client_hello.sni == "fota.vendor.example"


def test_an_empty_handshake_record_ends_what_the_hello_reader_waits_for() -> None:
    """The parser reads no record past an empty one (RFC 8446 forbids them), so the
    reader stops there too, instead of keeping 64 KiB of empty records."""
    empty = struct.pack("!BBBH", 22, 3, 1, 0)
    first_record = client_hello("a.example", record_split=50)[:55]
    facts, taken = hello_read([first_record, empty, *[empty] * 100])
    assert taken == 2
    assert facts.client_hello is not None and facts.client_hello.sni is None  # cut short


def test_the_hello_reader_walks_each_record_once() -> None:
    """Thousands of tiny records, one per segment: a walk of every record held per
    segment made 16k empty records (1.2 MB) take a minute."""
    header = b"\x01" + (60_000).to_bytes(3, "big")
    costs = []
    for count in (500, 2000):
        stream = as_records(header + bytes(count), 1)
        chunks = [stream[i : i + 6] for i in range(0, len(stream), 6)]
        costs.append(count_lines(partial(hello_read, chunks)).lines)
    assert costs[1] <= 5 * costs[0], costs
