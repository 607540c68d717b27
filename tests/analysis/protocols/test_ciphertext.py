"""Ciphertext is left out of the search; everything that may be cleartext is still searched.

TLS application-data payloads are skipped only after an encrypting ServerHello,
on framing read from the stream's first byte; QUIC 1-RTT packets keep their
header (with the connection ID) searched. Each test that plants an identifier
where the bytes are not proven ciphertext asserts that it is found.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.detection.detector import Detector
from benches.analysis.inspection import Inspector
from benches.analysis.network.streams import FlowInfo
from benches.analysis.protocols.ciphertext import (
    ENCRYPTING_SUITES,
    HEADER,
    QUIC_SHORT_HEADER,
    QuicConnection,
    RecordLayer,
    TlsSession,
)
from benches.analysis.results import Analysis
from tests.support.pcaps import (
    CN_IP,
    IMEI,
    PHONE_IP,
    SERIAL,
    TcpSession,
    client_hello,
    make_rack,
    tls_application_data,
    udp_packet,
    write_pcap,
)
from tests.support.quic_initials import crypto_frame, hello_message, seal_initial

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
AES_GCM = 0x1301
NULL_SHA = 0x0002  # TLS_RSA_WITH_NULL_SHA: records in the clear
INTEGRITY_ONLY = 0xC0B4  # TLS_SHA256_SHA256 (RFC 9150): TLS 1.3 records in the clear


def record(content_type: int, fragment: bytes) -> bytes:
    return struct.pack("!BBBH", content_type, 3, 3, len(fragment)) + fragment


def server_hello(suite: int, session: bytes = bytes(32)) -> bytes:
    body = b"\x03\x03" + bytes(32) + bytes([len(session)]) + session
    body += suite.to_bytes(2, "big") + b"\x00" + struct.pack("!H", 0)
    return record(22, b"\x02" + len(body).to_bytes(3, "big") + body)


def leak() -> bytes:
    return f"imei={IMEI}&serial={SERIAL}".encode()


def run(tmp_path: Path, packets: list) -> Analysis:
    return analyze([write_pcap(tmp_path / "tls.pcap", packets)], RACK, GEO)


def found(analysis: Analysis) -> set[str]:
    return {m.identifier for m in analysis.matches}


# --- the record layer --------------------------------------------------------


def skipped(layer: RecordLayer, stream: bytes, cuts: list[int]) -> bytes:
    """The bytes ``layer`` calls ciphertext when ``stream`` comes cut at ``cuts``."""
    out = b""
    edges = [0, *cuts, len(stream)]
    for low, high in zip(edges, edges[1:], strict=False):
        chunk = stream[low:high]
        out += b"".join(chunk[a:b] for a, b in layer.ciphertext(chunk))
    return out


SECRET = bytes(range(100, 200))  # an application-data payload
SERVER_FLIGHT = server_hello(AES_GCM) + record(20, b"\x01") + record(23, SECRET) + record(23, b"")


@pytest.mark.parametrize("cuts", [[], [1], [3, 4], [50, 51, 52], list(range(1, 200, 7))])
def test_only_application_data_payloads_are_ciphertext(cuts: list[int]) -> None:
    layer = RecordLayer(TlsSession(), server=True)
    assert skipped(layer, SERVER_FLIGHT, cuts) == SECRET


def skipped_as_inspected(layer: RecordLayer, stream: bytes, cuts: list[int]) -> bytes:
    """:func:`skipped`, asking the quick paths (:meth:`RecordLayer.skips`, then
    :meth:`RecordLayer.one_record`) first, as the inspection does."""
    out = b""
    edges = [0, *cuts, len(stream)]
    for low, high in zip(edges, edges[1:], strict=False):
        chunk = stream[low:high]
        if layer.skips(len(chunk)):
            out += chunk
        elif layer.one_record(chunk):
            out += chunk[HEADER:]
        else:
            out += b"".join(chunk[a:b] for a, b in layer.ciphertext(chunk))
    return out


LONG_FLIGHT = SERVER_FLIGHT + record(23, bytes(range(256)) * 20) + record(21, b"\x01\x00")
# A download: a record of ciphertext per segment, as the benchmark's TLS sessions send.
DOWNLOAD = SERVER_FLIGHT + b"".join(record(23, bytes([n]) * (300 + n)) for n in range(12))
DOWNLOAD_RECORDS = [len(SERVER_FLIGHT)]  # where each record of the download starts
for n in range(11):
    DOWNLOAD_RECORDS.append(DOWNLOAD_RECORDS[-1] + 5 + 300 + n)


@given(st.lists(st.integers(1, len(LONG_FLIGHT) - 1), unique=True).map(sorted))
def test_the_quick_skip_agrees_with_the_record_walk(cuts: list[int]) -> None:
    walked = skipped(RecordLayer(TlsSession(), server=True), LONG_FLIGHT, cuts)
    quick = skipped_as_inspected(RecordLayer(TlsSession(), server=True), LONG_FLIGHT, cuts)
    assert quick == walked
    assert SECRET in quick and len(quick) == len(SECRET) + 256 * 20


@given(
    st.lists(
        st.sampled_from(DOWNLOAD_RECORDS) | st.integers(1, len(DOWNLOAD) - 1), unique=True
    ).map(sorted)
)
def test_a_record_per_segment_agrees_with_the_record_walk(cuts: list[int]) -> None:
    walked = skipped(RecordLayer(TlsSession(), server=True), DOWNLOAD, cuts)
    quick = skipped_as_inspected(RecordLayer(TlsSession(), server=True), DOWNLOAD, cuts)
    assert quick == walked
    assert len(quick) == len(SECRET) + sum(300 + n for n in range(12))


def test_one_record_takes_a_segment_that_is_one_record_of_ciphertext() -> None:
    layer = RecordLayer(TlsSession(), server=True)
    assert not layer.one_record(server_hello(AES_GCM))  # a handshake record
    layer.ciphertext(server_hello(AES_GCM) + record(20, b"\x01"))
    assert layer.one_record(record(23, SECRET))
    assert layer.one_record(record(23, SECRET)[:50]) and layer.left == len(SECRET) - 45
    assert not layer.one_record(record(23, SECRET))  # the record before is not over yet
    assert layer.skips(len(SECRET) - 45)
    assert not layer.one_record(record(23, SECRET) + b"\x17")  # more than one record
    assert not layer.one_record(record(21, b"\x01\x00"))  # an alert
    assert not layer.one_record(b"\x17\x03\x03")  # a header cut short


def test_one_record_takes_nothing_before_an_encrypting_hello() -> None:
    layer = RecordLayer(TlsSession(), server=False)
    assert not layer.one_record(record(23, SECRET))  # early data, or no ServerHello yet
    assert layer.ciphertext(record(23, SECRET)) == []


@pytest.mark.parametrize("suite", [NULL_SHA, INTEGRITY_ONLY, 0xFFFF])
def test_a_suite_not_known_to_encrypt_skips_nothing(suite: int) -> None:
    flight = server_hello(suite) + record(23, SECRET)
    assert suite not in ENCRYPTING_SUITES
    assert skipped(RecordLayer(TlsSession(), server=True), flight, []) == b""


def test_the_client_skips_only_after_the_servers_hello() -> None:
    session = TlsSession()
    client = RecordLayer(session, server=False)
    assert client.ciphertext(client_hello("a.example") + record(23, SECRET)) == []  # early data
    RecordLayer(session, server=True).ciphertext(server_hello(AES_GCM))
    chunk = record(23, SECRET)
    assert client.ciphertext(chunk) == [(5, 5 + len(SECRET))]


def test_a_hello_the_first_record_does_not_hold_whole_skips_nothing() -> None:
    hello = server_hello(AES_GCM)
    payload = hello[5:]
    split = record(22, payload[:20]) + record(22, payload[20:]) + record(23, SECRET)
    assert skipped(RecordLayer(TlsSession(), server=True), split, []) == b""


@pytest.mark.parametrize(
    "garbage", [b"GET / HTTP/1.1\r\n", b"\x17\x02\x00\x00\x05", b"\x17\x03\x03\xff\xff"]
)
def test_lost_framing_skips_nothing_more(garbage: bytes) -> None:
    layer = RecordLayer(TlsSession(), server=True)
    assert layer.ciphertext(server_hello(AES_GCM)) == []
    assert layer.ciphertext(garbage + record(23, SECRET)) == []
    assert layer.ciphertext(record(23, SECRET)) == []  # and it stays off


def test_a_gap_ends_the_skipping() -> None:
    layer = RecordLayer(TlsSession(), server=True)
    layer.ciphertext(server_hello(AES_GCM))
    layer.break_off()
    assert layer.ciphertext(record(23, SECRET)) == []


# --- end to end: what is still found ----------------------------------------------


def encrypted_session(client_bytes: bytes, *, suite: int = AES_GCM) -> TcpSession:
    """A client hello, the server's first flight, then ``client_bytes`` from the client."""
    session = TcpSession(PHONE_IP, 40000, CN_IP, 443).handshake()
    session.send(client_hello("api.example"))
    session.send(server_hello(suite) + record(20, b"\x01") + tls_application_data(900),
                 from_client=False)  # fmt: skip
    session.send(client_bytes)
    return session.close()


def test_identifiers_in_the_handshake_are_found(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 443).handshake()
    session.send(client_hello(f"{IMEI}.t.vnet.cn"))
    certificate = b"\x0b" + (100).to_bytes(3, "big") + f"CN={SERIAL}".encode().ljust(100, b"\0")
    session.send(server_hello(AES_GCM) + record(22, certificate) + tls_application_data(900),
                 from_client=False)  # fmt: skip
    session.close()
    assert found(run(tmp_path, session.packets)) == {"imei", "serial"}


@pytest.mark.parametrize("suite", [NULL_SHA, INTEGRITY_ONLY])
def test_application_data_in_the_clear_is_searched(tmp_path: Path, suite: int) -> None:
    session = encrypted_session(record(23, leak()), suite=suite)
    assert found(run(tmp_path, session.packets)) == {"imei", "serial"}


def test_early_data_before_the_servers_hello_is_searched(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 443).handshake()
    session.send(client_hello("api.example") + record(23, leak()))
    session.send(server_hello(AES_GCM) + tls_application_data(900), from_client=False)
    session.close()
    assert found(run(tmp_path, session.packets)) == {"imei", "serial"}


def test_bytes_after_the_framing_breaks_are_searched(tmp_path: Path) -> None:
    session = encrypted_session(tls_application_data(300) + b"POST /x HTTP/1.1\r\n\r\n" + leak())
    assert found(run(tmp_path, session.packets)) == {"imei", "serial"}


def test_a_record_header_between_ciphertexts_is_not_searched_alone() -> None:
    detector = Detector(RACK)
    assert detector.shortest > 5  # a TLS record header cannot hold a hit


def test_a_record_header_that_continues_searched_bytes_is_searched() -> None:
    """The quick path for a segment that is one record of ciphertext searches its header
    when the bytes before it were searched, as _search_around does: a hit may span them."""
    inspector = Inspector(Detector(RACK))
    flow = inspector.open(FlowInfo("t", "tcp", PHONE_IP, 40000, CN_IP, 443))
    hello = server_hello(AES_GCM)
    flow.to_client.data(0, hello, 1, 0.0)  # searched: the handshake is cleartext
    recent = flow.to_client.recent
    assert recent is not None and recent.end == len(hello)
    flow.to_client.data(len(hello), record(23, SECRET), 2, 0.0)  # joins: its header searched
    assert recent.end == len(hello) + HEADER
    end = len(hello) + len(record(23, SECRET))
    flow.to_client.data(end, record(23, SECRET), 3, 0.0)  # does not join: left out
    assert recent.end == len(hello) + HEADER
    assert flow.to_client.records is not None and flow.to_client.records.records == 3


def test_decrypted_streams_are_searched_whole() -> None:
    """A TLS-intercepting proxy's bytes are plaintext, whatever framing they have."""
    inspector = Inspector(Detector(RACK))
    info = FlowInfo("proxy", "tcp", PHONE_IP, 40000, CN_IP, 443, decrypted=True)
    flow = inspector.open(info)
    flow.to_client.data(0, server_hello(AES_GCM), 1, 0.0)
    flow.to_server.data(0, record(23, leak()), 2, 0.0)
    flow.to_server.close()
    flow.to_client.close()
    assert {m.hit.kind for m in inspector.matches} == {"imei", "serial"}


# --- QUIC ---------------------------------------------------------------------


CLIENT_CID, SERVER_CID = b"\xc1" * 8, b"\x5e" * 8


def answered(connection: QuicConnection) -> QuicConnection:
    """The client's Initial read, and the server's Initial answering it."""
    connection.client_initial(1, CLIENT_CID)
    server = bytes([0xC0]) + (1).to_bytes(4, "big") + b"\x08" + CLIENT_CID + b"\x08" + SERVER_CID
    assert connection.searched(server + bytes(100), from_server=True) == len(server) + 100
    return connection


def test_a_short_header_keeps_only_its_connection_id_searched_after_a_handshake() -> None:
    connection = answered(QuicConnection())
    to_server = bytes([0x41]) + SERVER_CID + b"x" * 1300
    to_client = bytes([0x41]) + CLIENT_CID + b"x" * 1300
    assert connection.searched(to_server, from_server=False) == QUIC_SHORT_HEADER
    assert connection.searched(to_client, from_server=True) == QUIC_SHORT_HEADER
    assert connection.searched(bytes([0xC1]) + b"x" * 1300, False) == 1301  # a long header


def test_a_short_header_without_a_handshake_or_its_ids_is_searched_whole() -> None:
    datagram = bytes([0x41]) + SERVER_CID + b"x" * 1300
    waiting = QuicConnection()
    waiting.client_initial(1, CLIENT_CID)  # no answer from the server yet
    assert waiting.searched(datagram, from_server=False) == len(datagram)
    connection = answered(QuicConnection())
    json = b'{"imei": "' + IMEI.encode() + b'"}'
    assert connection.searched(json, from_server=False) == len(json)  # no server ID in it
    wrong = bytes([0x41]) + CLIENT_CID + b"x" * 1300  # the client's own ID: not the server's
    assert connection.searched(wrong, from_server=False) == len(wrong)
    short = bytes([0x41]) + SERVER_CID + b"x" * 10  # too short for a packet number and tag
    assert connection.searched(short, from_server=False) == len(short)


def test_an_answer_to_another_id_or_version_is_no_answer() -> None:
    connection = QuicConnection()
    connection.client_initial(1, CLIENT_CID)
    other_id = bytes([0xC0]) + (1).to_bytes(4, "big") + b"\x08" + b"\x99" * 8 + b"\x00"
    negotiation = bytes([0xC0]) + bytes(4) + b"\x08" + CLIENT_CID + b"\x00" + bytes(8)
    for datagram in (other_id, negotiation):
        connection.searched(datagram + bytes(50), from_server=True)
    assert not connection.answered
    short = bytes([0x41]) + b"\x99" * 8 + b"x" * 100
    assert connection.searched(short, from_server=False) == len(short)


def test_an_empty_client_id_ties_only_the_servers_short_headers() -> None:
    """Chrome's client ID is empty: a server's short header has no ID to check, and its
    long-header answer is what ties it; a client's short header still needs the
    server's ID, and an empty server ID ties nothing."""
    connection = QuicConnection()
    connection.client_initial(1, b"")
    server = bytes([0xC0]) + (1).to_bytes(4, "big") + b"\x00" + b"\x08" + SERVER_CID
    connection.searched(server + bytes(50), from_server=True)
    assert connection.searched(bytes([0x47]) + bytes(100), True) == QUIC_SHORT_HEADER
    quiet = QuicConnection()
    quiet.client_initial(1, CLIENT_CID)
    quiet.searched(bytes([0xC0]) + (1).to_bytes(4, "big") + b"\x08" + CLIENT_CID + b"\x00", True)
    assert quiet.answered and quiet.searched(bytes([0x47]) + bytes(100), False) == 101


def test_quic_connection_ids_are_searched(tmp_path: Path) -> None:
    dcid = bytes(range(8))
    initial = seal_initial(crypto_frame(0, hello_message("quic.example")), dcid)
    cid = IMEI[:15].encode()  # a connection ID that spells the IMEI
    short = bytes([0x43]) + cid + bytes(1200)
    packets = [
        udp_packet(PHONE_IP, 50000, CN_IP, 443, initial),
        udp_packet(CN_IP, 443, PHONE_IP, 50000, short),
    ]
    analysis = run(tmp_path, packets)
    assert analysis.flows[0].protocol == "quic"
    assert [(m.identifier, m.packet) for m in analysis.matches] == [("imei", 2)]


def test_udp_that_is_not_quic_is_searched_whole(tmp_path: Path) -> None:
    short = bytes([0x43]) + bytes(100) + leak()
    analysis = run(tmp_path, [udp_packet(PHONE_IP, 50000, CN_IP, 443, short)])
    assert found(analysis) == {"imei", "serial"}
