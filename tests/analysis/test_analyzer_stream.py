"""The analyzer streams: bytes reach the inspection as they arrive, buffers go when flows end,
and anything that produces per-flow bytes (a TLS-intercepting proxy) can feed the inspection."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.detection.detector import Detector
from benches.analysis.inspection import Inspector
from benches.analysis.network import flows as flowmod
from benches.analysis.network.packets import parse
from benches.analysis.network.streams import FlowInfo
from benches.analysis.packet_loop import read_flows
from benches.analysis.pcap.files import read_packets
from benches.policy.evaluation import evaluate
from tests.support.pcaps import (
    CN_IP,
    FOTA_IP,
    IMEI,
    PHONE_IP,
    RESOLVER_IP,
    SERIAL,
    START,
    TcpSession,
    http_post,
    make_policy,
    make_rack,
    udp_packet,
    write_pcap,
)
from tests.support.quic_initials import crypto_frame, hello_message, seal_initial
from tests.support.streamrec import Recorder

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)


class OrderedRecorder(Recorder):
    """Also notes, across flows, the order in which stream bytes arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[tuple[int, int]] = []  # (flow, offset)

    def open(self, info: FlowInfo):  # type: ignore[no-untyped-def]
        flow = super().open(info)
        index = len(self.flows) - 1
        original = flow.to_server.data

        def data(offset: int, chunk: bytes, frame: int, time: float) -> None:
            self.order.append((index, offset))
            original(offset, chunk, frame, time)

        flow.to_server.data = data  # type: ignore[method-assign]
        return flow


def test_bytes_reach_the_inspection_as_they_arrive_not_at_the_end(tmp_path: Path) -> None:
    one = TcpSession(PHONE_IP, 40001, CN_IP, 80, mss=10).handshake()
    two = TcpSession(PHONE_IP, 40002, FOTA_IP, 80, mss=10).handshake()
    packets = one.packets + two.packets
    for a, b in zip(one.send(b"a" * 30, ack=False), two.send(b"b" * 30, ack=False), strict=True):
        packets += [a, b]
    recorder = OrderedRecorder()
    read_flows(read_packets(write_pcap(tmp_path / "i.pcap", packets)), recorder)
    assert recorder.order == [(0, 0), (1, 0), (0, 10), (1, 10), (0, 20), (1, 20)]


def feed(table: flowmod.FlowTable, packets: list, start: int = 1) -> None:
    for frame, packet in enumerate(packets, start):
        raw = bytes(packet)
        table.add(frame, START + frame / 100, parse(1, raw, 0, len(raw)))  # type: ignore[arg-type]


def test_closed_flows_free_their_buffers(tmp_path: Path) -> None:
    inspector = Inspector(Detector(RACK))
    table = flowmod.FlowTable("x.pcap", inspector, [PHONE_IP])
    for port in range(40000, 40050):
        session = TcpSession(PHONE_IP, port, CN_IP, 80, mss=100).handshake()
        session.send(http_post("zfhmd.vnet.cn", "/", b"x" * 500))
        segments = session.send(b"y" * 300, from_client=False, ack=False)
        session.packets.remove(segments[1])
        session.packets.append(segments[1])  # out of order: held until its hole fills
        feed(table, session.close().packets)
    assert table._open == {}  # every connection ended with FIN both ways
    assert table.budget.held == 0
    for flow in inspector.flows:
        for stream in (flow.to_server, flow.to_client):
            assert (stream.scanner, stream.recent, stream.readers) == (None, None, [])
    assert all(f.closed and f.gaps == 0 for f in table.flows)


def test_an_idle_flow_gives_up_its_holes(tmp_path: Path) -> None:
    inspector = Inspector(Detector(RACK))
    table = flowmod.FlowTable("x.pcap", inspector, [PHONE_IP])
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=10).handshake()
    segments = session.send(b"0123456789abcdefghij", ack=False)
    feed(table, [p for p in session.packets if p is not segments[0]])
    (flow,) = table.flows
    assert flow.client.stream.held_bytes == 10  # type: ignore[attr-defined]
    table.sweep(START + flowmod.IDLE_TIMEOUT + 60)
    assert flow.client.stream.held_bytes == 0  # type: ignore[attr-defined]
    assert (flow.gaps, flow.closed) == (1, False)  # still open: it may say more


def test_a_gap_makes_the_cycle_inconclusive(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, FOTA_IP, 443, mss=10).handshake()
    segments = session.send(b"0123456789abcdefghij")
    packets = [p for p in session.close().packets if p is not segments[0]]
    analysis = analyze([write_pcap(tmp_path / "g.pcap", packets)], RACK, GEO)
    verdict = evaluate(analysis, make_policy(hosts=()))  # countries only: it needs no name
    assert verdict.outcome == "inconclusive"
    assert any("gap" in reason for reason in verdict.reasons)


def test_evidence_waits_for_the_bytes_after_the_match(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=20).handshake()
    session.send(
        b"POST / HTTP/1.1\r\n\r\nimei=" + IMEI.encode() + b"&after=next-segment", ack=False
    )
    (match,) = analyze([write_pcap(tmp_path / "e.pcap", session.packets)], RACK, GEO).matches
    assert match.evidence.endswith("&after=next-segment")
    assert match.packet == 5  # where the IMEI begins, not where its evidence ends


# --- the seam: a producer other than the capture -------------------------------------------


def test_a_proxy_can_feed_decrypted_bytes_through_the_seam() -> None:
    inspector = Inspector(Detector(RACK))
    info = FlowInfo("proxy", "tcp", PHONE_IP, 40000, "203.0.113.7", 443, decrypted=True)
    flow = inspector.open(info)
    body = b'{"serial":"' + SERIAL.encode() + b'","imei":"' + IMEI.encode() + b'"}'
    for offset in range(0, len(body), 7):
        flow.to_server.data(offset, body[offset : offset + 7], 100 + offset // 7, 0.0)
    flow.to_server.close()
    flow.to_client.close()
    flow.close()
    found = {(m.hit.kind, m.packet, m.offset, m.decrypted) for m in inspector.matches}
    serial_at, imei_at = body.index(SERIAL.encode()), body.index(IMEI.encode())
    assert found == {
        ("serial", 100 + serial_at // 7, serial_at, True),
        ("imei", 100 + imei_at // 7, imei_at, True),
    }
    assert flow.to_server.bytes == len(body)


# --- protocols on the streams --------------------------------------------------------------


def test_gzip_and_chunked_http_body_is_searched_decoded(tmp_path: Path) -> None:
    packed = gzip.compress(b'{"imei":"' + IMEI.encode() + b'"}')
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (packed[:9], packed[9:])) + b"0\r\n\r\n"
    )
    head = b"POST /a HTTP/1.1\r\nHost: zfhmd.vnet.cn\r\nTransfer-Encoding: chunked\r\n"
    request = head + b"Content-Encoding: gzip\r\n\r\n" + chunked
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=40).handshake()
    session.send(request)
    analysis = analyze([write_pcap(tmp_path / "h.pcap", session.close().packets)], RACK, GEO)
    (match,) = analysis.matches
    assert (match.identifier, match.encoding, match.direction) == (
        "imei",
        "chunked+gzip+plain",
        "to_server",
    )
    assert match.flow.http_host == "zfhmd.vnet.cn"


def test_dns_over_tcp_is_read(tmp_path: Path) -> None:
    query = bytes(DNS(id=5, rd=1, qd=[DNSQR(qname="fota.vendor.example")]))
    answer = bytes(
        DNS(id=5, qr=1, qd=[DNSQR(qname="fota.vendor.example")],
            an=[DNSRR(rrname="fota.vendor.example", type="A", rdata=FOTA_IP)])
    )  # fmt: skip
    session = TcpSession(PHONE_IP, 40000, RESOLVER_IP, 53, mss=9).handshake()
    session.send(struct.pack("!H", len(query)) + query)
    session.send(struct.pack("!H", len(answer)) + answer, from_client=False)
    later = TcpSession(PHONE_IP, 40001, FOTA_IP, 443).handshake()
    packets = session.close().packets + later.packets
    analysis = analyze([write_pcap(tmp_path / "d.pcap", packets)], RACK, GEO)
    assert [q.name for q in analysis.dns_queries] == ["fota.vendor.example"]
    dns, tls = analysis.flows
    assert (dns.protocol, tls.name, tls.name_source) == ("dns", "fota.vendor.example", "dns")


def test_quic_initial_names_the_flow(tmp_path: Path) -> None:
    initial = seal_initial(crypto_frame(0, hello_message("video.vendor.example")), b"\x11" * 8)
    packets = [
        udp_packet(PHONE_IP, 50000, "198.51.100.9", 443, initial),
        udp_packet("198.51.100.9", 443, PHONE_IP, 50000, b"\x40" + bytes(100)),
    ]
    (flow,) = analyze([write_pcap(tmp_path / "q.pcap", packets)], RACK, GEO).flows
    assert (flow.protocol, flow.tls, flow.sni) == ("quic", True, "video.vendor.example")
    assert (flow.name, flow.name_source) == ("video.vendor.example", "sni")
