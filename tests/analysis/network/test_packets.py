"""Link layers, IPv4 and IPv6 headers from raw bytes: every framing the gateway may see."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.network.packets import BAD, NOT_IP, IpFragment, Opaque, parse
from benches.analysis.pcap.linktypes import LINK_TYPES
from benches.analysis.results import Analysis
from tests.support import capfiles
from tests.support.pcaps import (
    CN_IP,
    IMEI,
    PHONE_IP,
    SERIAL,
    START,
    TcpSession,
    http_post,
    leaky_boot,
    make_rack,
)
from tests.support.streamrec import record

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
LEAK = {"imei", "iccid", "serial", "location"}
PHONE6, SERVER6 = "fd00::2:1", "2001:db8::86:10"


def ip_frames(packets: list | None = None) -> list[bytes]:
    return [bytes(p[IP] if IP in p else p[IPv6]) for p in (packets or leaky_boot())]


def run(tmp_path: Path, frames: list[bytes], linktype: int) -> Analysis:
    records = [(START + i / 100, frame) for i, frame in enumerate(frames)]
    return analyze([capfiles.pcap(tmp_path / "l.pcap", records, linktype=linktype)], RACK, GEO)


def leak_found(analysis: Analysis) -> None:
    assert {m.identifier for m in analysis.matches} == LEAK
    assert {m.packet for m in analysis.matches} == {6}
    assert analysis.captures[0].unreadable == 0


def ipv6_leak() -> list:
    session = TcpSession(PHONE6, 40000, SERVER6, 80).handshake()
    session.send(http_post("example.com", "/", f"imei={IMEI}".encode()))
    return session.close().packets


@pytest.mark.parametrize(
    ("linktype", "wrap"),
    [
        (capfiles.ETHERNET, lambda ip: capfiles.ethernet(ip, vlans=[100])),
        (capfiles.ETHERNET, lambda ip: capfiles.ethernet(ip, vlans=[10, 20], outer=0x88A8)),
        (capfiles.SLL, capfiles.sll),
        (capfiles.SLL2, capfiles.sll2),
        (capfiles.RAW, lambda ip: ip),
        (capfiles.RAW4, lambda ip: ip),
        (capfiles.NULL, capfiles.null),
        (capfiles.NULL, lambda ip: capfiles.null(ip, endian=">")),
        (capfiles.LOOP, lambda ip: capfiles.null(ip, endian=">")),
    ],
    ids=["vlan", "qinq", "sll", "sll2", "raw", "raw4", "null", "null-be", "loop"],
)
def test_ipv4_on_every_link_type(tmp_path: Path, linktype: int, wrap) -> None:  # type: ignore[no-untyped-def]
    leak_found(run(tmp_path, [wrap(ip) for ip in ip_frames()], linktype))


@pytest.mark.parametrize(
    ("linktype", "wrap"),
    [
        (capfiles.ETHERNET, lambda ip: capfiles.ethernet(ip, vlans=[7])),
        (capfiles.SLL, capfiles.sll),
        (capfiles.SLL2, capfiles.sll2),
        (capfiles.RAW6, lambda ip: ip),
        (capfiles.NULL, lambda ip: capfiles.null(ip, family6=24)),
        (capfiles.NULL, lambda ip: capfiles.null(ip, family6=28)),
        (capfiles.NULL, lambda ip: capfiles.null(ip, family6=10, endian=">")),
    ],
)
def test_ipv6_on_every_link_type(tmp_path: Path, linktype: int, wrap) -> None:  # type: ignore[no-untyped-def]
    analysis = run(tmp_path, [wrap(ip) for ip in ip_frames(ipv6_leak())], linktype)
    (match,) = analysis.matches
    assert (match.identifier, match.packet, match.flow.dst_ip) == ("imei", 4, SERVER6)


def test_ipv6_extension_headers_are_walked(tmp_path: Path) -> None:
    headers = IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=[]) / IPv6ExtHdrDestOpt()
    frames = []
    for packet in ipv6_leak():
        ip = packet[IPv6]
        rebuilt = IPv6(src=ip.src, dst=ip.dst) / headers.copy() / ip[TCP]
        frames.append(bytes(rebuilt))
    analysis = run(tmp_path, frames, capfiles.RAW6)
    (flow,) = analysis.flows
    assert (flow.proto, flow.dst_port, flow.http_host) == ("tcp", 80, "example.com")
    assert [m.identifier for m in analysis.matches] == ["imei"]


def test_ipv4_options_are_skipped(tmp_path: Path) -> None:
    frames = []
    for packet in leaky_boot():
        ip = packet[IP]
        rebuilt = IP(src=ip.src, dst=ip.dst, options=[b"\x94\x04\x00\x00"]) / ip.payload
        frames.append(bytes(rebuilt))
    leak_found(run(tmp_path, frames, capfiles.RAW))


def test_ethernet_padding_is_not_payload(tmp_path: Path) -> None:
    ip = bytes(IP(src=PHONE_IP, dst=CN_IP) / UDP(sport=5000, dport=9000) / Raw(b"hi"))
    frame = capfiles.ethernet(ip) + b"\x00" * 20  # padded to the Ethernet minimum
    path = capfiles.pcap(tmp_path / "pad.pcap", [(START, frame)])
    (flow,), _, _ = record(path)
    assert [d for d, _ in flow.to_server.datagrams + flow.to_client.datagrams] == [b"hi"]


def test_snaplen_cut_payload_is_what_was_captured(tmp_path: Path) -> None:
    ip = bytes(
        IP(src=PHONE_IP, dst=CN_IP) / UDP(sport=5000, dport=9000) / Raw(b"x" * 100 + b"tail")
    )
    frame = capfiles.ethernet(ip)
    path = capfiles.pcap(tmp_path / "cut.pcap", [(START, frame[:80], len(frame))])
    (flow,), _, stats = record(path, [PHONE_IP])
    assert stats.truncated == 1
    assert [len(d) for d, _ in flow.to_server.datagrams] == [80 - 14 - 28]


def test_not_ip_and_garbage_are_told_apart(tmp_path: Path) -> None:
    ether = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x88CC))
    frames = [
        ether + b"lldp",  # not IP: fine
        bytes.fromhex("020000000001020000000002") + b"\x00\x2eLLC" + bytes(43),  # 802.3 length
        capfiles.ethernet(bytes(IP(src=PHONE_IP, dst=CN_IP)))[:20],  # IPv4 header cut short
        capfiles.ethernet(b"\x60" + bytes(10)),  # IPv6 cut short
        capfiles.ethernet(bytes(IP(src=PHONE_IP, dst=CN_IP, ihl=4))),  # header length 16
        capfiles.ethernet(bytes(IP(src=PHONE_IP, dst=CN_IP) / TCP(dataofs=3))),
        capfiles.ethernet(bytes(IP(src=PHONE_IP, dst=CN_IP, proto=17) / b"abc")),  # UDP cut
        b"\x02\x00",  # shorter than an Ethernet header
    ]
    stats = run(tmp_path, frames, capfiles.ETHERNET).captures[0]
    assert (stats.non_ip, stats.unreadable) == (2, 6)


def test_unknown_link_type_packets_are_unreadable() -> None:
    assert parse(147, b"\x45" + bytes(40), 0, 41) == BAD
    assert parse(capfiles.SLL, capfiles.sll(b"\x45")[:-1] + b"", 0, 15) == BAD


def test_every_supported_link_type_is_listed() -> None:
    assert {0, 1, 101, 108, 113, 228, 229, 276} <= set(LINK_TYPES)


def test_fragments_are_recognised() -> None:
    first = bytes(IP(src=PHONE_IP, dst=CN_IP, flags="MF", proto=6, id=9) / (b"x" * 24))
    packet = parse(capfiles.RAW, first, 0, len(first))
    assert isinstance(packet, IpFragment)
    assert (packet.offset, packet.more, packet.key[2:]) == (0, True, (6, 9))
    whole = bytes(IP(src=PHONE_IP, dst=CN_IP, flags="DF") / UDP() / b"x")
    assert type(parse(capfiles.RAW, whole, 0, len(whole))) is tuple


def test_a_frame_never_reads_past_its_end(tmp_path: Path) -> None:
    """A record's bytes are cut out of a shared buffer: the next record must stay unseen."""
    ip = bytes(IP(src=PHONE_IP, dst=CN_IP) / UDP(sport=1, dport=2) / Raw(f"sn={SERIAL}".encode()))
    cut = capfiles.ethernet(ip)[:30]  # cut inside the IP header, snaplen-style
    follower = capfiles.ethernet(ip)
    stats = run(tmp_path, [cut, follower], capfiles.ETHERNET).captures[0]
    assert stats.unreadable == 1
    assert parse(capfiles.ETHERNET, cut + follower, 0, len(cut)) == BAD


LINKS = sorted(set(LINK_TYPES)) + [147]


@settings(max_examples=500, deadline=None)
@given(linktype=st.sampled_from(LINKS), data=st.binary(max_size=120), tail=st.binary(max_size=60))
def test_random_bytes_never_raise(linktype: int, data: bytes, tail: bytes) -> None:
    result = parse(linktype, data + tail, 0, len(data))
    assert result in (BAD, NOT_IP) or isinstance(result, (tuple, str))
    if isinstance(result, Opaque):  # a tunnel it could not read into
        result = result.tunnel
    if isinstance(result, IpFragment):
        assert result.end <= len(data)  # never past the frame
    elif isinstance(result, tuple):
        assert result[5] <= len(data)


@st.composite
def ip_like(draw: st.DrawFn) -> bytes:
    """Bytes that start like an IPv4 or IPv6 header, then anything."""
    version = draw(st.sampled_from([0x45, 0x46, 0x4F, 0x60]))
    proto = draw(st.sampled_from([6, 17, 1, 44, 0, 43, 60, 51]))
    body = draw(st.binary(min_size=0, max_size=200))
    if version == 0x60:
        return bytes([version]) + bytes(5) + bytes([proto]) + body
    return bytes([version]) + body[:8] + bytes([proto]) + body[8:]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=st.lists(ip_like(), max_size=12))
def test_hostile_packets_through_the_whole_path_never_raise(
    tmp_path: Path, frames: list[bytes]
) -> None:
    analysis = run(tmp_path, frames, capfiles.RAW)
    assert analysis.captures[0].packets == len(frames)
    if not frames:
        assert NOT_IP < 0


def test_an_ipv4_ethertype_must_carry_ipv4() -> None:
    frame = capfiles.ethernet(b"\x45" + bytes(39))[:12] + b"\x08\x00" + b"\x65" + bytes(39)
    assert parse(capfiles.ETHERNET, frame, 0, len(frame)) == BAD
