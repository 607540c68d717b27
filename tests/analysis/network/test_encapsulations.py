"""IP inside PPPoE, MPLS, GRE, ERSPAN, VXLAN, IP-in-IP and VLAN stacks; frames that are not IP.

A leak inside any encapsulation a lab's capture may carry is found on the phone's
own (innermost) flow; a frame the bench cannot read as IP, and a capture with no IP
packet at all, make the verdict inconclusive; nesting is bounded.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, LLC, STP, Dot3, Ether
from scapy.layers.ppp import PPP, PPP_LCP, PPPoED
from scapy.packet import Raw

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.network.encapsulations import MAX_DEPTH
from benches.analysis.network.packets import BAD, NOT_IP, IpFragment, Opaque, Tunnelled, parse
from benches.analysis.pcap.linktypes import LINK_TYPES
from benches.analysis.results import Analysis
from benches.policy.evaluation import evaluate
from benches.policy.verdict import Outcome
from tests.support import capfiles, tunnels
from tests.support.pcaps import (
    CN_IP,
    IMEI,
    PHONE_IP,
    START,
    TcpSession,
    clean_boot,
    http_exchange,
    http_post,
    leaky_boot,
    leaky_post_body,
    make_policy,
    make_rack,
)

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
LEAK = {"imei", "iccid", "serial", "location"}
PHONE6, SERVER6 = "fd00::2:1", "2001:db8::86:10"
HOST, ROUTER = "02:00:00:00:00:01", "02:00:00:00:00:02"


def ip_bytes(packets: list) -> list[bytes]:
    return [bytes(p[IP] if IP in p else p[IPv6]) for p in packets]


def ipv6_leak() -> list:
    session = TcpSession(PHONE6, 40000, SERVER6, 80).handshake()
    session.send(http_post("example.com", "/", f"imei={IMEI}".encode()))
    return session.close().packets


def frames_of(packets: list) -> list[bytes]:
    return [bytes(p) for p in packets]


def capture(tmp_path: Path, frames: list[bytes], name: str = "l.pcap") -> Path:
    records = [(START + i / 100, frame) for i, frame in enumerate(frames)]
    return capfiles.pcap(tmp_path / name, records, linktype=capfiles.ETHERNET)


def run(tmp_path: Path, frames: list[bytes], jobs: int = 1) -> Analysis:
    return analyze([capture(tmp_path, frames)], RACK, GEO, jobs)


def innermost(linktype: int, frame: bytes) -> object:
    """What parse() finds innermost in a frame (through any tunnel)."""
    read = parse(linktype, frame, 0, len(frame))
    return read.inner if type(read) is Tunnelled else read


def ether(kind: int, body: bytes) -> bytes:
    return bytes(Ether(src=HOST, dst=ROUTER, type=kind) / Raw(body))


@pytest.mark.parametrize("name", sorted(tunnels.WRAPS))
def test_a_leak_inside_an_encapsulation_is_found_on_the_phones_flow(
    tmp_path: Path, name: str
) -> None:
    wrap = tunnels.WRAPS[name]
    analysis = run(tmp_path, [wrap(ip) for ip in ip_bytes(leaky_boot())])
    assert {m.identifier for m in analysis.matches} == LEAK
    assert {m.packet for m in analysis.matches} == {6}
    assert {(m.flow.client_ip, m.flow.dst_ip, m.flow.dst_port) for m in analysis.matches} == {
        (PHONE_IP, CN_IP, 80)
    }
    stats = analysis.captures[0]
    assert (stats.unreadable, stats.non_ip, stats.unknown_frames) == (0, 0, {})
    assert stats.ip_packets == stats.packets
    assert evaluate(analysis, make_policy()).outcome is Outcome.FAIL


@pytest.mark.parametrize(
    "name", ["pppoe", "mpls", "mpls-pseudowire", "gre", "erspan-2", "erspan-3", "vxlan",
             "ipip", "in-ipv6", "qinq3", "snap"],
)  # fmt: skip
def test_an_ipv6_leak_inside_an_encapsulation_is_found(tmp_path: Path, name: str) -> None:
    wrap = tunnels.WRAPS[name]  # ipip: 6in4; in-ipv6: 6in6
    analysis = run(tmp_path, [wrap(ip) for ip in ip_bytes(ipv6_leak())])
    (match,) = analysis.matches
    assert (match.identifier, match.packet, match.flow.dst_ip) == ("imei", 4, SERVER6)


def test_tshark_reads_the_crafted_frames_as_intended(tmp_path: Path) -> None:
    """The oracle: tshark finds the phone's TCP segment inside every crafted frame."""
    assert shutil.which("tshark"), "tshark is missing: apt-get install tshark"
    ip = ip_bytes(leaky_boot())[5]
    names = sorted(tunnels.WRAPS)
    path = capture(tmp_path, [tunnels.WRAPS[name](ip) for name in names])
    command = ["tshark", "-r", str(path), "-d", "mpls.label==100,pwethcw", "-T", "fields"]
    command += ["-e", "frame.protocols", "-e", "ip.dst", "-e", "tcp.dstport"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert len(rows) == len(names)
    for name, (protocols, addresses, port) in zip(names, rows, strict=True):
        assert ":ip:tcp" in protocols.split(":ethertype", 2)[-1] or name == "snap", name
        assert addresses.split(",")[-1] == CN_IP and port == "80", name
    assert "erspan" in rows[names.index("erspan-3-platform")][0]
    assert ":pppoes:ppp:" in rows[names.index("pppoe")][0]
    assert rows[names.index("mpls")][0].count("mpls") == 1  # tshark names a stack once


def test_an_unknown_ethertype_makes_the_verdict_inconclusive(tmp_path: Path) -> None:
    frames = frames_of(clean_boot())
    assert evaluate(run(tmp_path, frames), make_policy()).outcome is Outcome.PASS
    frames += [ether(0x88B5, b"\x45" + bytes(60)), ether(0x88B5, bytes(46))]
    frames.append(ether(0x8864, bytes.fromhex("1100123400040057") + bytes(40))[:-38])
    analysis = run(tmp_path, frames)
    assert analysis.captures[0].unknown_frames == {"ethertype 0x88b5": 2}
    assert analysis.captures[0].unreadable == 1  # a PPPoE session frame cut short
    verdict = evaluate(analysis, make_policy())
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "2 frames of ethertype 0x88b5 in l.pcap could not be read as IP" in verdict.reasons


def test_a_tunnel_that_carries_no_ip_names_what_it_carries(tmp_path: Path) -> None:
    ppp_other = ether(0x8864, bytes.fromhex("110012340012") + b"\x00\x2b" + bytes(16))
    gre_other = bytes(
        Ether(src=HOST, dst=ROUTER) / IP(src="10.99.0.1", dst="10.99.0.2", proto=47)
        / Raw(b"\x00\x00\x88\xb5" + bytes(20))
    )  # fmt: skip
    mpls_other = ether(0x8847, b"\x00\x01\x01\x40" + b"\x90" + bytes(30))
    analysis = run(tmp_path, [*frames_of(clean_boot()), ppp_other, gre_other, mpls_other])
    assert analysis.captures[0].unknown_frames == {
        "PPP protocol 0x002b": 1,
        "ethertype 0x88b5": 1,
        "MPLS or ERSPAN payload of version 9": 1,
    }
    assert evaluate(analysis, make_policy()).outcome is Outcome.INCONCLUSIVE


def link_control() -> list[bytes]:
    """Frames every lab's capture holds that are not the phone's IP traffic."""
    return [
        bytes(Ether(src=HOST, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=PHONE_IP, pdst="127.0.0.1")),
        ether(0x88CC, bytes(40)),  # LLDP
        bytes(Dot3(src=HOST, dst="01:80:c2:00:00:00") / LLC() / STP()),
        ether(0x8809, b"\x01\x01" + bytes(44)),  # LACP
        ether(0x888E, b"\x02\x01\x00\x00" + bytes(42)),  # EAPOL start
        bytes(Ether(src=HOST, dst=ROUTER) / PPPoED()),  # PPPoE discovery
        bytes(Ether(src=HOST, dst=ROUTER, type=0x8864) / b"\x11\x00\x12\x34\x00\x06"
              / PPP(proto=0xC021) / PPP_LCP(code=9)),  # PPP echo: a keepalive
        ether(0x9000, bytes(46)),  # loopback keepalive
        bytes.fromhex("01000ccccccc") + bytes.fromhex(HOST.replace(":", ""))
        + b"\x00\x26" + b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + bytes(30),  # CDP
    ]  # fmt: skip


def test_link_control_frames_are_counted_and_do_not_stop_a_pass(tmp_path: Path) -> None:
    analysis = run(tmp_path, [*frames_of(clean_boot()), *link_control()])
    stats = analysis.captures[0]
    assert (stats.non_ip, stats.unknown_frames, stats.unreadable) == (len(link_control()), {}, 0)
    assert evaluate(analysis, make_policy()).outcome is Outcome.PASS


@pytest.mark.parametrize("only", ["arp", "keepalives", "all link control"])
def test_a_capture_with_no_ip_packet_is_inconclusive(tmp_path: Path, only: str) -> None:
    frames = {
        "arp": link_control()[:1] * 5,
        "keepalives": [ether(0x9000, bytes(46))] * 3,
        "all link control": link_control(),
    }[only]
    analysis = run(tmp_path, frames)
    assert analysis.captures[0].ip_packets == 0
    verdict = evaluate(analysis, make_policy())
    assert verdict.outcome is Outcome.INCONCLUSIVE
    (reason,) = verdict.reasons
    assert reason.startswith("no IP packets in l.pcap")


def test_nesting_beyond_the_bound_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    ip = ip_bytes(leaky_boot())[5]
    within = innermost(capfiles.ETHERNET, tunnels.nested_ipip(ip, MAX_DEPTH))
    assert type(within) is tuple and within[2:3] == (bytes([127, 0, 86, 10]),)
    for deep in (
        tunnels.nested_ipip(ip, MAX_DEPTH + 1),
        tunnels.nested_ipip(ip, 20_000),  # 400 kB of IP headers: no recursion, no loop
    ):
        found = innermost(capfiles.ETHERNET, deep)
        assert type(found) is Opaque and found.held == BAD
    for deep in (
        ether(0x8100, b"\x00\x01\x81\x00" * 50_000 + ip),  # 50,000 VLAN tags
        ether(0x8847, b"\x00\x01\x00\x40" * 50_000 + b"\x00\x01\x01\x40" + ip),  # labels
    ):
        assert parse(capfiles.ETHERNET, deep, 0, len(deep)) == BAD
    frames = [*frames_of(clean_boot()), tunnels.nested_ipip(ip, MAX_DEPTH + 1)]
    analysis = run(tmp_path, frames)
    assert analysis.captures[0].unreadable == 1
    # The deepest tunnel read is still searched as a flow of its own: the leak is found.
    assert {m.identifier for m in analysis.matches} == LEAK
    assert {m.flow.proto for m in analysis.matches} == {"ip-4"}
    assert evaluate(analysis, make_policy()).outcome is Outcome.FAIL


def test_a_tunnel_the_bench_cannot_read_is_still_searched(tmp_path: Path) -> None:
    """GRE carrying WCCP (0x883e): counted as not read, and its bytes searched raw."""
    body = ip_bytes(leaky_boot())[5]
    outer = IP(src="10.99.0.1", dst="10.99.0.2", proto=47) / Raw(b"\x00\x00\x88\x3e" + body)
    analysis = run(tmp_path, [*frames_of(clean_boot()), bytes(Ether(src=HOST, dst=ROUTER) / outer)])
    assert analysis.captures[0].unknown_frames == {"ethertype 0x883e": 1}
    assert {(m.identifier, m.flow.dst_ip) for m in analysis.matches} >= {("imei", "10.99.0.2")}
    assert evaluate(analysis, make_policy()).outcome is Outcome.FAIL


def test_a_fragmented_tunnel_is_read_once_whole(tmp_path: Path) -> None:
    """GRE whose outer IPv4 packet was fragmented on the way: the leak is found inside."""

    frames = []
    for inner in ip_bytes(leaky_boot()):
        outer = IP(src="10.99.0.1", dst="10.99.0.2", proto=47) / Raw(b"\x00\x00\x08\x00" + inner)
        for piece in fragment(outer, fragsize=64):
            frames.append(bytes(Ether(src=HOST, dst=ROUTER) / piece))
    analysis = run(tmp_path, frames)
    assert {m.identifier for m in analysis.matches} == LEAK
    assert {m.flow.dst_ip for m in analysis.matches} == {CN_IP}
    assert analysis.captures[0].fragments == 0


# --- sharding ------------------------------------------------------------------


def test_jobs_2_reads_a_tunnelled_flow_once_and_as_one_process_does(tmp_path: Path) -> None:
    """VXLAN's outer source port differs by direction, so the two directions of the
    phone's flow travel in two outer flows: they must still be read as one flow, by one
    shard, and the document must be what one process writes."""
    from tests.analysis.test_parallel import document

    frames: list[bytes] = []
    names = ("vxlan", "gre", "mpls", "pppoe", "erspan-3", "ipip")
    for port, name in enumerate(names, 41000):
        request = http_post("zfhmd.vnet.cn", "/activation", leaky_post_body())
        exchange = http_exchange(PHONE_IP, port, CN_IP, request).packets
        frames += [tunnels.WRAPS[name](ip) for ip in ip_bytes(exchange)]
    frames += frames_of(clean_boot()) + [ether(0x88B5, bytes(46))] + link_control()
    path = capture(tmp_path, frames, "tunnels.pcap")
    one = analyze([path], RACK, GEO, 1)
    two = analyze([path], RACK, GEO, 2)
    keys = [(f.proto, f.client_ip, f.client_port, f.dst_ip, f.dst_port) for f in two.flows]
    assert len(keys) == len(set(keys))  # no flow read by two shards
    http = [f for f in two.flows if f.dst_port == 80]
    assert len(http) == len(names) and {f.packets for f in http} == {len(exchange)}
    assert two.captures == one.captures
    assert two.captures[0].unknown_frames == {"ethertype 0x88b5": 1}
    assert document([path], 2) == document([path], 1)


# --- fuzz ------------------------------------------------------------------------

PREFIXES = [
    b"",
    struct.pack("!H", 0x8100) + b"\x00\x01",
    struct.pack("!H", 0x88A8) + b"\x00\x01\x81\x00\x00\x02",
    struct.pack("!H", 0x8864) + b"\x11\x00\x00\x01",
    struct.pack("!H", 0x8847),
    struct.pack("!H", 0x8847) + b"\x00\x01\x01\x40\x00\x00\x00\x00",
    struct.pack("!H", 0x0800) + bytes(IP(proto=47, src="10.0.0.1", dst="10.0.0.2"))[:20],
    struct.pack("!H", 0x0800) + bytes(IP(proto=4, src="10.0.0.1", dst="10.0.0.2"))[:20],
    struct.pack("!H", 0x86DD) + bytes(IPv6(nh=41, src="::1", dst="::2"))[:40],
    struct.pack("!H", 0x0020) + b"\xaa\xaa\x03\x00\x00\x00",
]


@st.composite
def encapsulated(draw: st.DrawFn) -> bytes:
    """An Ethernet header, then a start that leads into a tunnel, then anything."""
    prefix = draw(st.sampled_from(PREFIXES))
    gre_head = draw(st.sampled_from([b"", b"\x00\x00\x88\xbe", b"\x10\x00\x22\xeb", b"\xb0\x00"]))
    vxlan = b"\x12\xb5" if draw(st.booleans()) else b""
    return bytes(12) + prefix + gre_head + vxlan + draw(st.binary(max_size=120))


@settings(max_examples=1000, deadline=None)
@given(frame=encapsulated(), tail=st.binary(max_size=40))
def test_random_encapsulated_frames_never_raise(frame: bytes, tail: bytes) -> None:
    result = parse(capfiles.ETHERNET, frame + tail, 0, len(frame))
    assert result in (BAD, NOT_IP) or isinstance(result, (tuple, str))
    if isinstance(result, Tunnelled):
        assert result.carriers and all(c[4] <= c[5] <= len(frame) for c in result.carriers)
        result = result.inner
    if isinstance(result, Opaque):
        assert result.held in (BAD, NOT_IP) or isinstance(result.held, str)
        result = result.tunnel
    if isinstance(result, IpFragment):
        assert result.end <= len(frame)
    elif isinstance(result, tuple):
        assert result[5] <= len(frame)


@settings(max_examples=1000, deadline=None)
@given(
    linktype=st.sampled_from(sorted(set(LINK_TYPES))),
    data=st.binary(max_size=200),
    tail=st.binary(max_size=40),
)
def test_random_bytes_on_every_link_type_never_raise(
    linktype: int, data: bytes, tail: bytes
) -> None:
    result = parse(linktype, data + tail, 0, len(data))
    assert result in (BAD, NOT_IP) or isinstance(result, (tuple, str))
    if isinstance(result, str):
        assert len(result) < 60


def test_other_link_types_tell_link_control_from_the_unknown() -> None:
    def sll(protocol: int, body: bytes) -> bytes:
        return struct.pack("!HHH8sH", 0, 1, 6, bytes(8), protocol) + body

    def sll2(protocol: int, body: bytes) -> bytes:
        return struct.pack("!HHIHBB8s", protocol, 0, 1, 1, 0, 6, bytes(8)) + body

    ip = ip_bytes(leaky_boot())[5]
    cases = [
        (capfiles.SLL, sll(0x0806, bytes(28)), NOT_IP),
        (capfiles.SLL, sll(0x0004, b"\x42\x42\x03" + bytes(35)), NOT_IP),  # STP
        (capfiles.SLL, sll(0x88B5, bytes(20)), "ethertype 0x88b5"),
        (capfiles.SLL, sll(0x000C, bytes(20)), "Linux cooked protocol 0x000c"),
        (capfiles.SLL2, sll2(0x88CC, bytes(20)), NOT_IP),
        (capfiles.SLL2, sll2(0x8100, b"\x00\x05\x08\x00" + ip), "tuple"),
        (capfiles.SLL2, sll2(0x8864, tunnels.pppoe(ip)[14:]), "tuple"),
        (capfiles.NULL, struct.pack("<I", 7) + bytes(20), "loopback address family 7"),
        (capfiles.LOOP, struct.pack(">I", 2) + ip, "tuple"),
    ]
    for linktype, frame, expected in cases:
        result = parse(linktype, frame, 0, len(frame))
        if expected == "tuple":
            assert type(result) is tuple and result[2:3] == (bytes([127, 0, 86, 10]),)
        else:
            assert result == expected, (linktype, frame[:20].hex())


def test_gre_source_routes_are_walked_and_bounded() -> None:
    ip = ip_bytes(leaky_boot())[5]

    def routed(entries: int) -> bytes:
        route = b"\x08\x00\x00\x04" + bytes(4)  # an IPv4 entry of one address
        header = b"\x40\x00\x08\x00" + bytes(4) + route * entries + bytes(4)  # R, then the end
        outer = IP(src="10.99.0.1", dst="10.99.0.2", proto=47) / Raw(header + ip)
        return bytes(Ether(src=HOST, dst=ROUTER) / outer)

    read = innermost(capfiles.ETHERNET, routed(2))
    assert type(read) is tuple and read[2:3] == (bytes([127, 0, 86, 10]),)
    endless = routed(7_000)  # 56 kB of route entries
    found = innermost(capfiles.ETHERNET, endless)
    assert type(found) is Opaque and found.held == BAD
