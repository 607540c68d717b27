"""Inspection of a flow's streams: every byte searched raw, and HTTP/1.x decoded wherever a
start line lets the decoder sync, in either direction, per message (issue 12)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from benches.analysis.analyzer import Analysis, analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.protocols.notes import DECODER_GAVE_UP, DECODER_RESYNC
from benches.analysis.results import Match
from tests.support.pcaps import (
    CN_IP,
    IMEI,
    PHONE_IP,
    TcpSession,
    http_post,
    http_response,
    make_rack,
    write_pcap,
)

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
SECRET = b'{"imei":"' + IMEI.encode() + b'"}'  # gzip'd below: never in the raw bytes
HOST = "zfhmd.vnet.cn"


def gzip_post(*, chunked: bool = False) -> bytes:
    """A POST whose gzip'd body holds the IMEI (chunked in pieces when ``chunked``)."""
    packed = gzip.compress(SECRET)
    assert IMEI.encode() not in packed
    head = f"POST /up HTTP/1.1\r\nHost: {HOST}\r\nContent-Encoding: gzip\r\n".encode()
    if chunked:
        pieces = (packed[:7], packed[7:20], packed[20:])
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + body
    return head + b"Content-Length: %d\r\n\r\n" % len(packed) + packed


def gzip_response() -> bytes:
    packed = gzip.compress(SECRET)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
    return head + packed


def run(tmp_path: Path, session: TcpSession) -> Analysis:
    return analyze([write_pcap(tmp_path / "c.pcap", session.packets)], RACK, GEO)


def imei(analysis: Analysis) -> Match:
    found = [m for m in analysis.matches if m.identifier == "imei"]
    assert found, "the IMEI in the gzip'd body was not found"
    (match,) = found
    return match


def note_kinds(analysis: Analysis) -> set[str]:
    return {note.kind for flow in analysis.flows for note in flow.notes}


# --- raw bytes: always searched ------------------------------------------------------------


def test_a_stream_that_is_not_http_is_still_searched_raw(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 5222, mss=11).handshake()
    session.send(b"\x00\x01\x02<presence imei='" + IMEI.encode() + b"'/>")
    analysis = run(tmp_path, session.close())
    match = imei(analysis)
    assert (match.encoding, match.direction) == ("plain", "to_server")
    assert not note_kinds(analysis)  # not HTTP at all: nothing to say about decoding it


# --- the decoder syncs wherever a start line is ------------------------------------------


def test_a_keep_alive_byte_before_the_request_does_not_hide_its_gzip_body(tmp_path: Path) -> None:
    # The capture began mid-connection: the first segment seen is a keep-alive probe (one
    # byte at the sequence number before the next), then the phone's POST.
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80)
    session._segment(True, "A", b"\x00", seq=session.cseq - 1)
    session.send(gzip_post())
    session.send(http_response(), from_client=False)
    analysis = run(tmp_path, session.close())
    match = imei(analysis)
    assert (match.encoding, match.direction) == ("gzip+plain", "to_server")
    assert match.flow.http_host == HOST
    assert DECODER_RESYNC in note_kinds(analysis)


def test_a_server_that_speaks_first_does_not_hide_a_chunked_gzip_body(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 8080, mss=40).handshake()
    session.send(b"220 service ready\r\n", from_client=False)
    session.send(gzip_post(chunked=True))
    session.send(http_response(), from_client=False)
    match = imei(run(tmp_path, session.close()))
    assert (match.encoding, match.direction) == ("chunked+gzip+plain", "to_server")


def test_a_capture_that_starts_mid_body_reads_the_next_message(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=64)  # no handshake: mid-connection
    session.send(b'rest of an earlier body","n":1}\r\n' + b"\x8b\x08\x00" * 20)
    session.send(http_response(), from_client=False)
    session.send(gzip_post())
    match = imei(run(tmp_path, session.close()))
    assert match.encoding == "gzip+plain"


@pytest.mark.parametrize(
    "bad",
    [
        b"GET /x HTTP/1.1 and more\r\nHost: a\r\n\r\n",  # malformed request line
        b"POST /x HTTP/1.1\r\nContent-Length: lots\r\n\r\n",  # a header that breaks framing
        b"NOT A REQUEST\r\n\r\n",
        b"\x16\x03\x01 binary \xff\xfe\r\n\r\n",
    ],
    ids=["request-line", "content-length", "garbage-line", "binary"],
)
def test_a_malformed_message_does_not_hide_the_next_one(tmp_path: Path, bad: bytes) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    session.send(http_post(HOST, "/first", b"{}")[: -len(b"{}")].replace(b"close", b"keep-alive"))
    session.send(b"{}")  # a good first message, then the bad one, then the leak
    session.send(bad)
    session.send(gzip_post())
    session.send(http_response(), from_client=False)
    analysis = run(tmp_path, session.close())
    assert imei(analysis).encoding == "gzip+plain"
    assert DECODER_RESYNC in note_kinds(analysis)


def test_a_gzip_response_after_junk_is_decoded(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    session.send(b"GET /config HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n\r\n")
    session.send(b"\x00\x07junk before the status line", from_client=False)
    session.send(gzip_response(), from_client=False)
    match = imei(run(tmp_path, session.close()))
    assert (match.encoding, match.direction) == ("gzip+plain", "to_client")


def test_the_decoder_reads_on_after_a_gap(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    first = http_post(HOST, "/a", b"x" * 100)
    session.send(first[:50])
    session.cseq += 30  # 30 bytes the capture never saw
    session.send(first[80:])
    session.send(gzip_post())
    session.send(http_response(), from_client=False)
    analysis = run(tmp_path, session.close())
    assert imei(analysis).encoding == "gzip+plain"
    assert DECODER_RESYNC in note_kinds(analysis)


def test_a_decoder_that_never_syncs_again_says_it_gave_up(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    session.send(http_post(HOST, "/a", b"{}"))
    session.send(b"\x01\x02 not http any more " + IMEI.encode())
    analysis = run(tmp_path, session.close())
    assert imei(analysis).encoding == "plain"  # searched raw all the same
    (flow,) = analysis.flows
    assert [n.kind for n in flow.notes] == [DECODER_GAVE_UP]
    assert "to_server" in flow.notes[0].detail


def test_tls_streams_get_no_http_reader(tmp_path: Path) -> None:
    """The common path: a stream that begins with a TLS handshake pays for no HTTP parser,
    even when its bytes hold what looks like a start line."""
    from benches.analysis.detection.detector import Detector
    from benches.analysis.inspection import Inspector
    from benches.analysis.network.streams import FlowInfo
    from benches.analysis.protocols.readers import TlsHello

    inspector = Inspector(Detector(RACK))
    flow = inspector.open(FlowInfo("x", "tcp", PHONE_IP, 40000, CN_IP, 443))
    flow.to_server.data(0, b"\x16\x03\x01\x00\x05hello", 1, 0.0)
    flow.to_client.data(0, b"\x16\x03\x03\x00\x02HTTP/1.1 200 OK\r\n", 2, 0.0)
    assert [type(r) for r in flow.to_server.readers] == [TlsHello]
    assert flow.to_client.readers == [] and flow.to_client.opening is None
    assert flow.http is None


def test_a_bogus_content_length_does_not_hide_the_messages_it_swallows(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    session.send(
        b"POST /a HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nContent-Length: 999999999\r\n\r\n"
    )
    session.send(gzip_post())  # read as the first message's body, and on its own
    session.send(http_response(), from_client=False)
    analysis = run(tmp_path, session.close())
    assert imei(analysis).encoding == "gzip+plain"
    assert analysis.flows[0].http_host == HOST
