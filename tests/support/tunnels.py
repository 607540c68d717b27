"""Wrap an IP packet's bytes in the encapsulations a lab's captures carry: Ethernet frames.

Built with scapy's own layers (PPPoE, MPLS, GRE, ERSPAN, VXLAN), so each frame is
what another tool writes; tests/analysis/network/test_encapsulations.py has tshark
confirm they decode as intended. Nothing here sends a packet.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from scapy.contrib.erspan import ERSPAN_I, ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import GRE, GRE_PPTP, LLC, SNAP, Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import HDLC, PPP, PPPoE
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw

HOST_MAC, ROUTER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
TUNNEL_A, TUNNEL_B = "10.99.0.1", "10.99.0.2"  # a lab's mirror source and collector
TUNNEL6_A, TUNNEL6_B = "fd99::1", "fd99::2"

Wrap = Callable[[bytes], bytes]


def _ether(kind: int | None = None) -> Packet:
    if kind is None:
        return Ether(src=HOST_MAC, dst=ROUTER_MAC)
    return Ether(src=HOST_MAC, dst=ROUTER_MAC, type=kind)


def _ip_kind(ip: bytes) -> int:
    return 0x0800 if ip[0] >> 4 == 4 else 0x86DD


def _inner_ether(ip: bytes) -> bytes:
    """The phone's own Ethernet frame, as a mirror or a bridge carries it."""
    return bytes(Ether(src="02:00:00:00:02:01", dst="02:00:00:00:00:fe", type=_ip_kind(ip)))


def _outer_ipv4(proto: int) -> Packet:
    return _ether() / IP(src=TUNNEL_A, dst=TUNNEL_B, proto=proto)


def pppoe(ip: bytes) -> bytes:
    ppp = 0x0021 if ip[0] >> 4 == 4 else 0x0057
    return bytes(_ether(0x8864) / PPPoE(sessionid=0x1234) / PPP(proto=ppp) / Raw(ip))


def mpls(ip: bytes, labels: int = 3) -> bytes:
    stack = _ether(0x8847)
    for index in range(labels):
        stack = stack / MPLS(label=16 + index, s=int(index == labels - 1), ttl=64)
    return bytes(stack / Raw(ip))


def mpls_pseudowire(ip: bytes) -> bytes:
    """An Ethernet pseudowire with its control word (RFC 4448)."""
    frame = _ether(0x8847) / MPLS(label=100, s=1, ttl=64) / Raw(bytes(4) + _inner_ether(ip) + ip)
    return bytes(frame)


def gre(ip: bytes) -> bytes:
    """GRE with a checksum, a key and a sequence number (RFC 2890)."""
    header = GRE(chksum_present=1, key_present=1, seqnum_present=1, key=7, sequence_number=1)
    header.proto = _ip_kind(ip)
    return bytes(_outer_ipv4(47) / header / Raw(ip))


def gre_bridged(ip: bytes) -> bytes:
    """Transparent Ethernet bridging over GRE (0x6558)."""
    return bytes(_outer_ipv4(47) / GRE(proto=0x6558) / Raw(_inner_ether(ip) + ip))


def pptp(ip: bytes) -> bytes:
    """PPP in PPTP's enhanced GRE (version 1), with its HDLC address and control."""
    ppp = 0x0021 if ip[0] >> 4 == 4 else 0x0057
    header = GRE_PPTP(seqnum_present=1, acknum_present=1, call_id=9, sequence_number=3)
    return bytes(_outer_ipv4(47) / header / HDLC() / PPP(proto=ppp) / Raw(ip))


def erspan_1(ip: bytes) -> bytes:
    return bytes(_outer_ipv4(47) / GRE(proto=0x88BE) / ERSPAN_I() / Raw(_inner_ether(ip) + ip))


def erspan_2(ip: bytes) -> bytes:
    header = GRE(proto=0x88BE, seqnum_present=1, sequence_number=5)
    mirror = ERSPAN_II(session_id=3, vlan=10)
    return bytes(_outer_ipv4(47) / header / mirror / Raw(_inner_ether(ip) + ip))


def erspan_3(ip: bytes) -> bytes:
    header = GRE(proto=0x22EB, seqnum_present=1, sequence_number=5)
    mirror = ERSPAN_III(session_id=3, timestamp=12345)
    return bytes(_outer_ipv4(47) / header / mirror / Raw(_inner_ether(ip) + ip))


def erspan_3_platform(ip: bytes) -> bytes:
    """ERSPAN type III with its optional platform-specific subheader."""
    header = GRE(proto=0x22EB, seqnum_present=1, sequence_number=5)
    mirror = ERSPAN_III(session_id=3, o=1) / ERSPAN_PlatformSpecific(platf_id=3)
    return bytes(_outer_ipv4(47) / header / mirror / Raw(_inner_ether(ip) + ip))


def vxlan(ip: bytes) -> bytes:
    # The source port is a hash of the inner frame, so each direction has its own.
    sport = 49152 + (sum(ip[12:20]) * 131) % 16384
    outer = _ether() / IP(src=TUNNEL_A, dst=TUNNEL_B) / UDP(sport=sport, dport=4789)
    return bytes(outer / VXLAN(vni=42, flags=0x08) / Raw(_inner_ether(ip) + ip))


def ip_in_ip(ip: bytes) -> bytes:
    """IPv4 (proto 4) or IPv6 (41, 6in4) inside IPv4."""
    return bytes(_outer_ipv4(4 if ip[0] >> 4 == 4 else 41) / Raw(ip))


def ip_in_ipv6(ip: bytes) -> bytes:
    """4in6 or 6in6."""
    outer = _ether() / IPv6(src=TUNNEL6_A, dst=TUNNEL6_B, nh=4 if ip[0] >> 4 == 4 else 41)
    return bytes(outer / Raw(ip))


def qinq(ip: bytes, tags: int = 3) -> bytes:
    frame: Packet = _ether(0x88A8) / Dot1AD(vlan=100)
    for index in range(1, tags):
        frame = frame / Dot1Q(vlan=100 + index)
    frame.lastlayer().type = _ip_kind(ip)
    return bytes(frame / Raw(ip))


def snap(ip: bytes) -> bytes:
    """RFC 1042: IP in an 802.3 frame, behind LLC and SNAP."""
    body = bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=_ip_kind(ip))) + ip
    return bytes.fromhex("020000000002020000000001") + struct.pack("!H", len(body)) + body


def nested_ipip(ip: bytes, depth: int) -> bytes:
    """``ip`` inside ``depth`` IPv4-in-IPv4 tunnels, on Ethernet."""
    a, b = (bytes(int(part) for part in address.split(".")) for address in (TUNNEL_A, TUNNEL_B))
    headers = []
    for level in range(depth):  # outermost last; lengths past 64 KiB stop at its cap
        length = min(0xFFFF, 20 * (level + 1) + len(ip))
        headers.append(struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 1, 0, 64, 4, 0, a, b))
    return bytes(_ether(0x0800)) + b"".join(reversed(headers)) + ip


WRAPS: dict[str, Wrap] = {
    "pppoe": pppoe,
    "mpls": mpls,
    "mpls-pseudowire": mpls_pseudowire,
    "gre": gre,
    "gre-bridged": gre_bridged,
    "pptp": pptp,
    "erspan-1": erspan_1,
    "erspan-2": erspan_2,
    "erspan-3": erspan_3,
    "erspan-3-platform": erspan_3_platform,
    "vxlan": vxlan,
    "ipip": ip_in_ip,
    "in-ipv6": ip_in_ipv6,
    "qinq3": qinq,
    "snap": snap,
}
