"""A tunnel's own endpoints are a flow of their own: a phone that opens a tunnel (GRE,
IP-in-IP, VXLAN) to a far server is judged by where the tunnel goes, not only by the
inner addresses; a lab's mirror (ERSPAN between a switch and a collector) is not a
phone's and changes no verdict. The tunnel's bytes are searched once, on the inner flow.
"""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.results import Analysis, Flow
from benches.inventory.virtual import Endpoint
from benches.policy.evaluation import evaluate
from benches.policy.findings import REGION_VIOLATION
from benches.policy.verdict import Outcome
from tests.analysis.test_parallel import document
from tests.support import capfiles, tunnels
from tests.support.pcaps import (
    CN_IP,
    FOTA_IP,
    GATEWAY_MAC,
    PHONE_IP,
    PHONE_MAC,
    START,
    clean_boot,
    http_exchange,
    http_post,
    leaky_boot,
    leaky_post_body,
    make_policy,
    make_rack,
)

RU_IP = "127.0.77.10"  # the far end of the phone's IP-in-IP tunnel: RU in the overlay
LAN_IP = "192.168.1.20"  # a local address: no region, no host rule
MOVED_IP = "10.0.0.77"  # an address devices.yaml does not give the phone: found by MAC
RACK = make_rack(
    (
        Endpoint("zfhmd.vnet.cn", CN_IP, "CN", "Chinanet"),
        Endpoint("fota.vendor.example", FOTA_IP, "FI", "Vendor Cloud Oy"),
        Endpoint("relay.far.example", RU_IP, "RU", "Some Hoster LLC"),
    )
)
GEO = GeoDatabase.for_rack(RACK)


def inner_ip(packets: list) -> list[tuple[bool, bytes]]:
    """(sent by the phone, the IP packet) of each frame."""
    return [(p[IP].src == PHONE_IP, bytes(p[IP])) for p in packets]


def local_exchange(port: int) -> list[tuple[bool, bytes]]:
    """The phone's harmless HTTP to a local address: nothing the policy would judge."""
    request = http_post("printer.lan", "/status", b"ok=1")
    return inner_ip(http_exchange(PHONE_IP, port, LAN_IP, request).packets)


def gre_frame(phone: str, far: str, sent: bool, ip: bytes, mac: str = PHONE_MAC) -> bytes:
    src, dst = (phone, far) if sent else (far, phone)
    ether = Ether(src=mac, dst=GATEWAY_MAC) if sent else Ether(src=GATEWAY_MAC, dst=mac)
    return bytes(ether / IP(src=src, dst=dst) / GRE(proto=0x0800) / Raw(ip))


def ipip_frame(phone: str, far: str, sent: bool, ip: bytes) -> bytes:
    src, dst = (phone, far) if sent else (far, phone)
    ether = Ether(src=PHONE_MAC, dst=GATEWAY_MAC) if sent else Ether(src=GATEWAY_MAC, dst=PHONE_MAC)
    return bytes(ether / IP(src=src, dst=dst, proto=4) / Raw(ip))


def vxlan_frame(phone: str, far: str, sent: bool, ip: bytes) -> bytes:
    """A VXLAN tunnel the phone keeps to ``far``: to port 4789 both ways, from a source
    port that is a hash of the inner packet."""
    src, dst = (phone, far) if sent else (far, phone)
    ports = (49152 + sum(ip[12:20]) % 16384 + sent, 4789)
    ether = Ether(src=PHONE_MAC, dst=GATEWAY_MAC) if sent else Ether(src=GATEWAY_MAC, dst=PHONE_MAC)
    inner = tunnels._inner_ether(ip) + ip
    outer = IP(src=src, dst=dst) / UDP(sport=ports[0], dport=ports[1])
    return bytes(ether / outer / VXLAN(vni=7, flags=0x08) / Raw(inner))


def capture(tmp_path: Path, frames: list[bytes], name: str = "t.pcap") -> Path:
    records = [(START + i / 100, frame) for i, frame in enumerate(frames)]
    return capfiles.pcap(tmp_path / name, records, linktype=capfiles.ETHERNET)


def run(tmp_path: Path, frames: list[bytes], jobs: int = 1) -> Analysis:
    return analyze([capture(tmp_path, frames)], RACK, GEO, jobs)


def flow_to(analysis: Analysis, proto: str, dst: str) -> Flow:
    (flow,) = [f for f in analysis.flows if f.proto == proto and f.dst_ip == dst]
    return flow


def test_a_phones_gre_and_ipip_to_a_forbidden_country_are_region_violations(
    tmp_path: Path,
) -> None:
    gre_part = [gre_frame(PHONE_IP, CN_IP, sent, ip) for sent, ip in local_exchange(41000)]
    ipip_part = [ipip_frame(PHONE_IP, RU_IP, sent, ip) for sent, ip in local_exchange(41001)]
    analysis = run(tmp_path, gre_part + ipip_part)
    gre, ipip = flow_to(analysis, "ip-47", CN_IP), flow_to(analysis, "ip-4", RU_IP)
    for flow, part, first in ((gre, gre_part, 1), (ipip, ipip_part, 1 + len(gre_part))):
        assert (flow.client_ip, flow.judged, flow.country) == (PHONE_IP, True, flow.country)
        assert flow.packets == len(part)
        assert flow.bytes == sum(len(frame) - 14 for frame in part)  # the outer IP packets
        assert (flow.first_packet, flow.last_packet) == (first, first + len(part) - 1)
    assert (gre.country, ipip.country) == ("CN", "RU")
    inner = [f for f in analysis.flows if f.dst_ip == LAN_IP]
    assert len(inner) == 2 and all(f.local and f.protocol == "http" for f in inner)
    assert analysis.captures[0].ip_packets == len(gre_part) + len(ipip_part)  # frames, once
    verdict = evaluate(analysis, make_policy())
    regions = {(f.dst_ip, f.country) for f in verdict.findings if f.kind == REGION_VIOLATION}
    assert regions == {(CN_IP, "CN"), (RU_IP, "RU")}
    assert verdict.outcome == Outcome.FAIL


def test_a_phone_found_by_mac_is_judged_by_its_vxlan_tunnels_end(tmp_path: Path) -> None:
    frames = [vxlan_frame(MOVED_IP, CN_IP, sent, ip) for sent, ip in local_exchange(41002)]
    analysis = run(tmp_path, frames)
    # One flow for the tunnel, both ways: VXLAN's source port is a hash of the inner flow.
    (outer,) = [f for f in analysis.flows if f.proto == "udp"]
    assert (outer.client_ip, outer.client_port, outer.dst_ip, outer.dst_port) == (
        MOVED_IP, 0, CN_IP, 4789,
    )  # fmt: skip
    assert outer.judged and outer.packets == len(frames)
    verdict = evaluate(analysis, make_policy())
    assert (CN_IP, "CN") in {
        (f.dst_ip, f.country) for f in verdict.findings if f.kind == REGION_VIOLATION
    }
    assert verdict.outcome == Outcome.FAIL


def test_a_tunnels_bytes_are_searched_once(tmp_path: Path) -> None:
    """The leak inside the phone's GRE is found on the inner flow only, as often as in
    the same traffic without the tunnel."""
    plain = run(tmp_path, [bytes(p) for p in leaky_boot()])
    inside = [gre_frame(PHONE_IP, RU_IP, sent, ip) for sent, ip in inner_ip(leaky_boot())]
    analysis = analyze([capture(tmp_path, inside, "gre.pcap")], RACK, GEO)
    seen = sorted((m.identifier, m.packet, m.flow.proto, m.flow.dst_ip) for m in analysis.matches)
    assert seen == sorted(
        (m.identifier, m.packet, m.flow.proto, m.flow.dst_ip) for m in plain.matches
    )
    assert flow_to(analysis, "ip-47", RU_IP).judged


def test_a_mirror_between_other_hosts_judges_no_tunnel_end(tmp_path: Path) -> None:
    """ERSPAN (or GRE, VXLAN) from a switch to a collector: the outer flow is there, one
    per pair of ends, not judged, and the verdict is the one of the same traffic
    unmirrored."""
    ips = [bytes(p[IP]) for p in clean_boot()]
    for wrap in (tunnels.erspan_2, tunnels.erspan_3, tunnels.gre_bridged, tunnels.vxlan):
        mirrored = analyze([capture(tmp_path, [wrap(ip) for ip in ips], "m.pcap")], RACK, GEO)
        proto = "udp" if wrap is tunnels.vxlan else "ip-47"
        outer = flow_to(mirrored, proto, tunnels.TUNNEL_B)
        assert (outer.client_ip, outer.client_port) == (tunnels.TUNNEL_A, 0)
        assert not outer.judged
        assert outer.packets == len(ips)
        plain = run(tmp_path, [bytes(p) for p in clean_boot()])
        policy = make_policy()
        got, want = evaluate(mirrored, policy), evaluate(plain, policy)
        assert (got.outcome, got.findings, got.reasons) == (
            want.outcome,
            want.findings,
            want.reasons,
        )
        assert got.outcome == Outcome.PASS


def test_jobs_2_gives_the_tunnel_ends_as_one_process_does(tmp_path: Path) -> None:
    """Each tunnel's flow is read by the shard of its own key, once; the carriers' and the
    inner flow, begun by one frame, keep their order."""
    frames: list[bytes] = []
    for port in range(41100, 41108):  # several inner flows: spread over the shards
        frames += [gre_frame(PHONE_IP, CN_IP, s, ip) for s, ip in local_exchange(port)]
        frames += [ipip_frame(PHONE_IP, RU_IP, s, ip) for s, ip in local_exchange(port + 100)]
        frames += [vxlan_frame(PHONE_IP, CN_IP, s, ip) for s, ip in local_exchange(port + 200)]
    request = http_post("zfhmd.vnet.cn", "/activation", leaky_post_body())
    for sent, ip in inner_ip(http_exchange(PHONE_IP, 41300, CN_IP, request).packets):
        nested = ipip_frame(PHONE_IP, RU_IP, sent, gre_frame(PHONE_IP, FOTA_IP, sent, ip)[14:])
        frames.append(nested)  # GRE to FI inside IP-in-IP to RU
    for _, ip in local_exchange(41301):  # a GRE tunnel fragmented on the way
        whole = Ether(bytes(Ether() / IP(src=PHONE_IP, dst=CN_IP) / GRE(proto=0x0800) / Raw(ip)))
        frames += [bytes(Ether(src=PHONE_MAC, dst=GATEWAY_MAC) / piece[IP])
                   for piece in fragment(whole[IP], fragsize=64)]  # fmt: skip
    frames += [tunnels.erspan_2(bytes(p[IP])) for p in clean_boot()]
    path = capture(tmp_path, frames, "tunnels.pcap")
    one, two = analyze([path], RACK, GEO, 1), analyze([path], RACK, GEO, 2)
    keys = [(f.proto, f.client_ip, f.client_port, f.dst_ip, f.dst_port) for f in two.flows]
    assert len(keys) == len(set(keys))
    assert [(f.proto, f.dst_ip, f.packets, f.first_packet) for f in two.flows] == [
        (f.proto, f.dst_ip, f.packets, f.first_packet) for f in one.flows
    ]
    assert two.captures == one.captures
    assert {("ip-47", FOTA_IP), ("ip-4", RU_IP), ("ip-47", CN_IP), ("udp", CN_IP)} <= {
        (f.proto, f.dst_ip) for f in one.flows if f.judged
    }
    assert document([path], 2) == document([path], 1)
    assert document([path], 3) == document([path], 1)
