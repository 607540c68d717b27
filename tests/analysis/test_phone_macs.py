"""A flow keeps the Ethernet addresses of its first frame, on every path a packet takes.

The common packet (Ethernet, IPv4, TCP or UDP) is read in place, by the C
record walk or by ``FlowTable.ipv4``; anything else (IPv6, 802.1Q, IP options,
fragments) is parsed first. Either way a new flow takes the MACs of its first
frame, once, and the phone is found by them; any number of processes gives
the same document.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP, IPOption_NOP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, Raw

from benches.analysis import parallel
from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.pcap.recordwalk import PURE_PYTHON_ENV, compiled_walk
from benches.cli.analyze import result_document, write_json
from benches.policy.evaluation import evaluate
from tests.support.pcaps import (
    CN_IP,
    GATEWAY_MAC,
    IMEI,
    PHONE_MAC,
    RESOLVER_IP,
    SERIAL,
    TcpSession,
    dns_lookup,
    http_post,
    make_policy,
    make_rack,
    write_pcap,
)

# The module-scoped fixtures are costly: its tests share one worker, so they are built once.
pytestmark = pytest.mark.xdist_group("tests/analysis/test_phone_macs.py")

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
MOVED_IP = "127.0.2.77"
MOVED_V6 = "fd00::2:77"
LAPTOP_IP = "127.0.9.50"
LAPTOP_MAC = "02:00:00:00:09:50"


def from_phone(inner: Packet, *, vlan: int | None = None) -> Packet:
    frame = Ether(src=PHONE_MAC, dst=GATEWAY_MAC)
    return frame / Dot1Q(vlan=vlan) / inner if vlan is not None else frame / inner


def moved_phone_capture() -> list[Packet]:
    packets = dns_lookup(MOVED_IP, RESOLVER_IP, "zfhmd.vnet.cn", CN_IP, mac=PHONE_MAC)
    for port in range(40000, 40012):  # flows both shards of two or three read
        session = TcpSession(MOVED_IP, port, CN_IP, 80, client_mac=PHONE_MAC).handshake()
        session.send(http_post("zfhmd.vnet.cn", f"/{port}", f"imei={IMEI}".encode()))
        packets += session.close().packets
        laptop = TcpSession(LAPTOP_IP, port, CN_IP, 443, client_mac=LAPTOP_MAC).handshake()
        packets += laptop.close().packets
    # The parsed path: 802.1Q, IP options, IPv6, fragments (the last fragment's frame).
    packets.append(from_phone(IP(src=MOVED_IP, dst=CN_IP) / UDP(sport=5000, dport=9000), vlan=7))
    optioned = IP(src=MOVED_IP, dst=CN_IP, options=[IPOption_NOP()] * 4)
    packets.append(from_phone(optioned / UDP(sport=5001, dport=9000) / Raw(b"x")))
    packets.append(
        from_phone(IPv6(src=MOVED_V6, dst="2001:db8::86:10") / UDP(sport=5002, dport=9000))
    )
    datagram = IP(src=MOVED_IP, dst=CN_IP, id=9) / UDP(sport=5003, dport=9000) / Raw(b"y" * 80)
    packets += [from_phone(p) for p in fragment(datagram, fragsize=32)]
    return packets


def document(capture: Path, jobs: int) -> str:
    analysis = analyze([capture], RACK, GEO, jobs)
    out = io.StringIO()
    write_json(result_document(evaluate(analysis, make_policy()), analysis, GEO.info(), "T"), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pcap(tmp_path_factory.mktemp("macs") / "moved.pcap", moved_phone_capture())


@pytest.mark.parametrize("walk", ["compiled", "pure-python"])
def test_every_path_keeps_the_first_frames_macs(
    capture: Path, walk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if walk == "pure-python":
        monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    else:
        assert compiled_walk() is not None, "the C record walk was not built"
    analysis = analyze([capture], RACK, GEO)
    phone = [f for f in analysis.flows if f.client_ip in (MOVED_IP, MOVED_V6)]
    assert len(phone) == 1 + 12 + 4  # DNS, the HTTP flows, the parsed-path flows
    assert {(f.client_mac, f.device, f.judged) for f in phone} == {(PHONE_MAC, SERIAL, True)}
    laptop = [f for f in analysis.flows if f.client_ip == LAPTOP_IP]
    assert len(laptop) == 12
    assert {(f.client_mac, f.device, f.judged) for f in laptop} == {(LAPTOP_MAC, None, False)}


@pytest.mark.skipif(not parallel.can_fork(), reason="needs the fork start method")
@pytest.mark.parametrize("jobs", [2, 3])
def test_any_number_of_processes_gives_the_same_document(capture: Path, jobs: int) -> None:
    single = document(capture, 1)
    assert '"address-changed"' in single and '"judged": false' in single
    assert document(capture, jobs) == single


def test_loopback_frames_carry_no_mac(tmp_path: Path) -> None:
    frame = Ether(src="00:00:00:00:00:00", dst="00:00:00:00:00:00")
    packet = frame / IP(src="127.0.2.1", dst=CN_IP) / UDP(sport=5000, dport=9000)
    (flow,) = analyze([write_pcap(tmp_path / "lo.pcap", [packet])], RACK, GEO).flows
    assert (flow.client_mac, flow.device) == (None, SERIAL)  # found by its address
