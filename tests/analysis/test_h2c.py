"""HTTP/2 in cleartext, end to end (issue 13): an identifier in a Huffman-coded header,
in a body split over DATA frames, gzip'd, after ``Upgrade: h2c``, or said again through
the HPACK dynamic table is found, its chain named; ordinary sessions stay quiet.

The crafted captures are checked with tshark as an oracle (``-d tcp.port==8080,http2``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benches.analysis.analyzer import Analysis, analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.protocols.notes import DECODER_GAVE_UP
from tests.support.analyzecli import bench, rack_files
from tests.support.h2c import (
    CURL_PORT,
    CURL_PRIOR_KNOWLEDGE,
    HOST,
    PORT,
    PREFACE,
    H2c,
    data,
    gzipped,
    request_fields,
    settings,
)
from tests.support.pcaps import (
    FOTA_IP,
    IMEI,
    OTHER_IMEI,
    PHONE_IP,
    RESOLVER_IP,
    TcpSession,
    dns_lookup,
    http_response,
    make_rack,
    write_pcap,
)
from tests.support.protobufs import field_bytes, field_varint, grpc_frame

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
LEAK = b'{"device":{"imei":"' + IMEI.encode() + b'","battery":87}}'


def run(folder: Path, h2: H2c) -> tuple[Path, Analysis]:
    path = write_pcap(folder / "h2c.pcap", h2.packets())
    return path, analyze([path], RACK, GEO)


def cli(folder: Path, path: Path) -> tuple[int, dict[str, Any]]:
    devices, firmware = rack_files(folder)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    assert not done.stderr.strip() or "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def encodings(analysis: Analysis) -> list[tuple[str, str, int]]:
    return [(m.encoding, m.direction, m.packet) for m in analysis.matches if m.value == IMEI]


def tshark_values(path: Path, field: str = "http2.header.value") -> str:
    """What tshark reads in the capture as HTTP/2: the oracle that it is well formed."""
    assert shutil.which("tshark"), "tshark is missing: apt-get install tshark"
    done = subprocess.run(
        ["tshark", "-r", str(path), "-d", f"tcp.port=={PORT},http2", "-Y", "http2",
         "-T", "fields", "-e", field],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def test_an_imei_in_a_huffman_coded_header_fails_naming_h2c_hpack(tmp_path: Path) -> None:
    h2 = H2c.prior_knowledge()
    h2.exchange(1, [*request_fields(), ("x-device-id", IMEI)])
    path = write_pcap(tmp_path / "h2c.pcap", h2.packets())
    assert IMEI.encode() not in path.read_bytes()  # Huffman-coded: never as text
    assert IMEI in tshark_values(path)
    code, document = cli(tmp_path, path)
    assert code == 1
    [finding] = document["findings"]
    assert finding["encoding"] == "h2c+hpack-huffman+plain"
    assert finding["identifier"] == "imei"
    [flow] = [f for f in document["flows"] if f["dst_port"] == PORT]
    assert flow["http_host"] == HOST  # :authority names the flow, as an HTTP/1 Host does
    assert flow["notes"] == []


def test_a_body_split_over_padded_data_frames(tmp_path: Path) -> None:
    h2 = H2c.prior_knowledge()
    h2.send(h2.client.headers(1, [*request_fields(), ("content-type", "application/json")]))
    h2.send(data(1, LEAK[:25], padding=9) + data(1, LEAK[25:], end=True, padding=4))
    h2.reply(h2.server.headers(1, [(":status", "204")], end=True))
    path, analysis = run(tmp_path, h2)
    assert IMEI.encode() not in path.read_bytes()  # a frame header and padding in the middle
    assert tshark_values(path, "http2.data.data")
    assert encodings(analysis) == [("h2c+plain", "to_server", encodings(analysis)[0][2])]


def test_a_gzip_body(tmp_path: Path) -> None:
    h2 = H2c.prior_knowledge()
    fields = [*request_fields(), ("content-encoding", "gzip")]
    packed = gzipped(LEAK)
    h2.send(h2.client.headers(1, fields) + data(1, packed[:20]) + data(1, packed[20:], end=True))
    h2.reply(h2.server.headers(1, [(":status", "200")], end=True))
    path, analysis = run(tmp_path, h2)
    assert "gzip" in tshark_values(path)
    [(encoding, direction, _)] = encodings(analysis)
    assert (encoding, direction) == ("h2c+gzip+plain", "to_server")


def test_after_an_upgrade_to_h2c(tmp_path: Path) -> None:
    """The server's answer on stream 1, right after its 101, carries the IMEI."""
    path, analysis = run(tmp_path, H2c.upgraded(leak=IMEI))
    oracle = subprocess.run(
        ["tshark", "-r", str(path), "-d", f"tcp.port=={PORT},http", "-Y", "http2",
         "-T", "fields", "-e", "http2.header.value"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert IMEI in oracle
    [(encoding, direction, _)] = encodings(analysis)
    assert (encoding, direction) == ("h2c+hpack-huffman+plain", "to_client")
    assert [n for f in analysis.flows for n in f.notes] == []


def test_an_upgrade_on_a_stream_with_another_reader(tmp_path: Path) -> None:
    """On TCP port 53 a DNS reader rides the stream too: the reader the 101 adds while the
    stream's readers are being fed must stay (it was dropped with the list rebuilt)."""
    _, analysis = run(tmp_path, H2c.upgraded(leak=IMEI, sport=53, together=False))
    assert [(e, d) for e, d, _ in encodings(analysis)] == [("h2c+hpack-huffman+plain", "to_client")]


def test_a_declined_upgrade_stays_http1(tmp_path: Path) -> None:
    """The server answers an ``Upgrade: h2c`` request with a plain 200: the connection
    stays HTTP/1.1, its next request's gzip'd body is decoded as before, nothing noted."""
    tcp = TcpSession(PHONE_IP, 42500, FOTA_IP, PORT).handshake()
    upgrade = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    tcp.send(upgrade.encode())
    tcp.send(http_response(), from_client=False)
    packed = gzipped(LEAK)
    head = f"POST /up HTTP/1.1\r\nHost: {HOST}\r\nContent-Encoding: gzip\r\n"
    tcp.send(head.encode() + b"Content-Length: %d\r\n\r\n" % len(packed) + packed)
    tcp.send(http_response(), from_client=False)
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, HOST, FOTA_IP) + tcp.close().packets
    analysis = analyze([write_pcap(tmp_path / "h1.pcap", packets)], RACK, GEO)
    assert [(e, d) for e, d, _ in encodings(analysis)] == [("gzip+plain", "to_server")]
    assert [n for f in analysis.flows for n in f.notes] == []


def test_a_header_said_again_through_the_dynamic_table(tmp_path: Path) -> None:
    """The second request says the header by its table index: one byte, found again."""
    h2 = H2c.prior_knowledge()
    fields = [*request_fields(), ("x-device-id", IMEI)]
    h2.exchange(1, fields)
    h2.exchange(3, fields)
    path, analysis = run(tmp_path, h2)
    assert tshark_values(path).count(IMEI) == 2
    found = encodings(analysis)
    assert [e for e, _, _ in found] == ["h2c+hpack-huffman+plain", "h2c+hpack-indexed+plain"]
    assert found[0][2] < found[1][2]  # each in its own request's packet


def test_a_server_that_speaks_first(tmp_path: Path) -> None:
    """A server may send its SETTINGS before the client's preface is through."""
    tcp = TcpSession(PHONE_IP, 42400, FOTA_IP, PORT).handshake()
    h2 = H2c(tcp)
    h2.reply(settings())
    h2.send(PREFACE + settings() + settings(ack=True))
    h2.send(h2.client.headers(1, request_fields(), end=True))
    h2.reply(h2.server.headers(1, [(":status", "200"), ("x-device", IMEI)], end=True))
    _, analysis = run(tmp_path, h2)
    assert [(e, d) for e, d, _ in encodings(analysis)] == [("h2c+hpack-huffman+plain", "to_client")]


def test_what_curl_sends_with_prior_knowledge(tmp_path: Path) -> None:
    """A real client's bytes (curl with nghttp2): its Huffman-coded X-Imei is found."""
    tcp = TcpSession(PHONE_IP, 55602, FOTA_IP, CURL_PORT).handshake()
    h2 = H2c(tcp)
    for segment in CURL_PRIOR_KNOWLEDGE:
        h2.send(segment)
    h2.reply(settings() + settings(ack=True) + h2.server.headers(1, [(":status", "200")], end=True))
    path, analysis = run(tmp_path, h2)
    assert IMEI.encode() not in path.read_bytes()
    assert [(e, d) for e, d, _ in encodings(analysis)] == [("h2c+hpack-huffman+plain", "to_server")]
    [flow] = [f for f in analysis.flows if f.dst_port == CURL_PORT]
    assert (flow.http_host, flow.notes) == (HOST, ())


def test_an_ordinary_session_with_another_phones_numbers_passes(tmp_path: Path) -> None:
    h2 = H2c.prior_knowledge()
    fields = [*request_fields(), ("x-device-id", OTHER_IMEI), ("x-tac", IMEI[:8])]
    body = b'{"imei":"' + OTHER_IMEI.encode() + b'","ts":1700000000123,"n":352098100}'
    h2.exchange(1, fields, body)
    h2.exchange(3, fields, gzipped(body))
    path = write_pcap(tmp_path / "h2c.pcap", h2.packets())
    assert OTHER_IMEI in tshark_values(path)
    code, document = cli(tmp_path, path)
    assert (code, document["findings"]) == (0, [])
    assert [n for f in document["flows"] for n in f["notes"]] == []


def test_garbage_after_the_preface_is_noted_not_fatal(tmp_path: Path) -> None:
    h2 = H2c.prior_knowledge(cport=42200)
    h2.send(bytes(range(256)) * 8)
    path = write_pcap(tmp_path / "h2c.pcap", h2.packets())
    code, document = cli(tmp_path, path)
    notes = [n for f in document["flows"] for n in f["notes"]]
    assert [n["kind"] for n in notes] == [DECODER_GAVE_UP]
    assert notes[0]["detail"].startswith("HTTP/2 to_server: ")
    assert code == 0  # nothing leaked; the note is informational: the bytes were searched raw


def test_garbage_hides_nothing_searched_raw(tmp_path: Path) -> None:
    """The reader gives up; the IMEI written plainly after the garbage is still found."""
    h2 = H2c.prior_knowledge(cport=42300)
    h2.send(b"\xff" * 40 + b" imei=" + IMEI.encode())
    _, analysis = run(tmp_path, h2)
    assert [e for e, _, _ in encodings(analysis)] == ["plain"]


def test_grpc_over_h2c_is_written_out_as_protobuf(tmp_path: Path) -> None:
    """gRPC's own transport is HTTP/2: a message carrying the IMEI as a varint field is
    written out as text and found, named with both chains (h2c, then gRPC's framing)."""
    message = field_varint(1, int(IMEI)) + field_bytes(2, b"android")
    fields = [*request_fields("/device.v1.Registry/Register"), ("content-type", "application/grpc")]
    h2 = H2c.prior_knowledge()
    h2.exchange(1, fields, grpc_frame(message))
    path, analysis = run(tmp_path, h2)
    assert IMEI.encode() not in path.read_bytes()
    # the raw DATA frame holds the varint itself: the binary form finds it there too
    assert sorted(e for e, _, _ in encodings(analysis)) == [
        "h2c+grpc+protobuf+plain",
        "protobuf-varint",
    ]
    assert all(not flow.notes for flow in analysis.flows)


def test_an_h2c_body_labelled_grpc_that_is_not_stays_quiet_with_a_note(tmp_path: Path) -> None:
    h2 = H2c.prior_knowledge()
    fields = [*request_fields(), ("content-type", "application/grpc")]
    h2.exchange(1, fields, b"\x00\x00\x00\x00\x10" + bytes(range(7, 23)))
    _, analysis = run(tmp_path, h2)
    assert encodings(analysis) == []
    assert [n.kind for flow in analysis.flows for n in flow.notes] == ["decoder-gave-up"]
