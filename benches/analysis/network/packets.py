"""Find the IP packet in a frame and its transport payload, from raw bytes.

Everything works on ``(buffer, start, end)``: the frame is ``buffer[start:end]``
and nothing is copied until a payload has to be kept. The link layers are
those of :data:`~benches.analysis.pcap.linktypes.LINK_TYPES`; what lies between
a link header and the IP packet (VLAN tags, PPPoE, MPLS, ...) and inside
tunnels (GRE, ERSPAN, VXLAN) is :mod:`~benches.analysis.network.encapsulations`'
to walk, and IP-in-IP is read here: a packet is the innermost IP packet of its
frame; a frame read through a tunnel also gives the tunnels' own packets
(:class:`Tunnelled`), whose endpoints are judged as flows of their own. IPv4
options and IPv6 extension headers are walked; fragments are handed to
:mod:`benches.analysis.network.defrag`.

An IP header is trusted only as far as the captured bytes go: a total length
beyond the frame (snap length) cuts the payload at the frame's end, and a
frame longer than its IP packet (Ethernet padding) is cut at the packet's end.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from benches.analysis.network.encapsulations import (
    BAD,
    ETHERNET_FRAME,
    IP_ETHERTYPES,
    LLC,
    MAX_DEPTH,
    gre,
    vxlan,
    walk,
)
from benches.analysis.network.encapsulations import NOT_IP as NOT_IP  # re-exported
from benches.analysis.pcap.linktypes import ETHERNET, LOOP, NULL, RAW, RAW4, RAW6, SLL, SLL2

# BSD loopback address families: AF_INET, then AF_INET6 on NetBSD/OpenBSD, FreeBSD,
# Darwin and Linux.
NULL_IPV4 = frozenset({2})
NULL_IPV6 = frozenset({24, 28, 30, 10})

TCP, UDP = 6, 17
IPIP, IPV6_IN_IP, GRE = 4, 41, 47  # what IP carries that is IP again, or Ethernet
CARRIERS = frozenset({IPIP, IPV6_IN_IP, GRE})
VXLAN_PORT = 4789
VXLAN_PORT_BYTES = (VXLAN_PORT >> 8, VXLAN_PORT & 0xFF)
IPV6_EXTENSIONS = frozenset({0, 43, 60, 51})  # hop-by-hop, routing, destination, AH
IPV6_FRAGMENT = 44
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}

_ipv4 = struct.Struct("!BxHHHxB").unpack_from
_ipv6 = struct.Struct("!IHB").unpack_from
_ethertype = struct.Struct("!H").unpack_from
_fragment6 = struct.Struct("!BxHI").unpack_from


# An IP packet's transport payload, ``buffer[start:end]`` after the IP headers:
# (IP protocol number of the transport, source, destination (4 or 16 bytes each),
# buffer, start, end, IP bytes on the wire with headers). A plain tuple, not a class:
# one is made per packet.
Packet = tuple[int, bytes, bytes, bytes, int, int, int]


class IpFragment(NamedTuple):
    """One IP fragment, its data not yet copied out of the frame."""

    key: tuple[bytes, bytes, int, int]  # (src, dst, IPv4 protocol or 0, identification)
    version: int
    proto: int  # IPv4 protocol, or IPv6 next header after the fragment header
    offset: int  # bytes
    more: bool
    src: bytes
    dst: bytes
    buffer: bytes
    start: int
    end: int
    size: int


def parse(
    linktype: int, buf: bytes, start: int, end: int
) -> Packet | IpFragment | Opaque | Tunnelled | int | str:
    """The innermost IP packet in a frame, or NOT_IP, or BAD, or a label naming what
    the frame holds that the bench cannot read as IP ("ethertype 0x88b5"), or an
    :class:`Opaque` tunnel; :class:`Tunnelled` when read through a tunnel."""
    depth = 0
    if linktype == ETHERNET and start + 14 <= end and buf[start + 12 : start + 14] == b"\x08\x00":
        packet = _ipv4_packet(buf, start + 14, end)  # the common case, first
    else:
        at, depth = _frame_ip(linktype, buf, start, end)
        if type(at) is str or at < 0:  # type: ignore[operator]
            return at
        packet = ip_packet(buf, at, end)  # type: ignore[arg-type]
    if packet is None:
        return BAD
    if not isinstance(packet, IpFragment) and _carries(packet):
        return _through(packet, depth)
    return packet


class Opaque(NamedTuple):
    """A tunnel (GRE, VXLAN, IP-in-IP) whose payload could not be read as IP: what it
    holds (NOT_IP, BAD or a label), and the tunnel's own packet, whose bytes are still
    searched as a flow of its own."""

    held: int | str
    tunnel: Packet


class Tunnelled(NamedTuple):
    """A frame read through one tunnel or more: what the innermost one carries (a packet,
    a fragment, or an :class:`Opaque` tunnel), and each tunnel's own packet read
    through, outermost first. A carrier's endpoints are a flow of their own (a phone's
    GRE to a far server is judged by where it goes); its bytes are ``inner``'s, searched
    there only."""

    inner: Packet | IpFragment | Opaque
    carriers: tuple[Packet, ...]


def inner_packet(packet: Packet) -> Packet | IpFragment | Opaque | Tunnelled:
    """What a whole IP packet carries, when it is a tunnel (IP-in-IP, 6in4, GRE, VXLAN):
    as :func:`parse` gives it; ``packet`` itself otherwise. For a datagram made whole
    from fragments."""
    return _through(packet, 0) if _carries(packet) else packet


def _through(packet: Packet, depth: int) -> Packet | IpFragment | Opaque | Tunnelled:
    carriers: list[Packet] = []
    inner = _inner(packet, depth, carriers)
    return Tunnelled(inner, tuple(carriers)) if carriers else inner


def _carries(packet: Packet) -> bool:
    proto, _, _, buf, start, end, _ = packet
    if proto in CARRIERS:
        return True
    return (
        proto == UDP
        and start + 4 <= end
        and buf[start + 2] == VXLAN_PORT_BYTES[0]
        and buf[start + 3] == VXLAN_PORT_BYTES[1]
    )


def _inner(packet: Packet, depth: int, carriers: list[Packet]) -> Packet | IpFragment | Opaque:
    """The packet inside a tunnel, and inside that, down to one that is no tunnel.
    ``carriers`` gains each tunnel read through (an :class:`Opaque` one is not)."""
    while True:
        proto, _, _, buf, start, end, _ = packet
        depth += 1
        if depth > MAX_DEPTH:
            return Opaque(BAD, packet)
        at: int | str
        if proto in (IPIP, IPV6_IN_IP):
            at = start
        elif proto == GRE:
            payload = gre(buf, start, end)
            if payload is None:
                return Opaque(BAD, packet)
            at, depth = walk(payload[0], buf, payload[1], end, depth)
        else:  # UDP to the VXLAN port
            frame = vxlan(buf, start, end)
            if frame is None:  # not VXLAN: a datagram like any other
                return packet
            at, depth = walk(ETHERNET_FRAME, buf, frame, end, depth)
        if type(at) is str or at < 0:  # type: ignore[operator]
            return Opaque(at, packet)
        inner = ip_packet(buf, at, end)  # type: ignore[arg-type]
        if inner is None:
            return Opaque(BAD, packet)
        carriers.append(packet)
        if isinstance(inner, IpFragment) or not _carries(inner):
            return inner
        packet = inner


def ip_start(linktype: int, buf: bytes, start: int, end: int) -> int | str:
    """Offset of the IP header in the frame, or NOT_IP, or BAD, or a label."""
    return _frame_ip(linktype, buf, start, end)[0]


def _frame_ip(linktype: int, buf: bytes, start: int, end: int) -> tuple[int | str, int]:
    """(Offset of the IP header in the frame, or NOT_IP, BAD or a label; headers walked)."""
    if linktype == ETHERNET:
        if start + 14 < end and _ethertype(buf, start + 12)[0] in IP_ETHERTYPES:
            return start + 14, 0  # IPv6, or IPv4 that did not read: no walk needed
        return walk(ETHERNET_FRAME, buf, start, end)
    if linktype in (RAW, RAW4, RAW6, 12, 14):
        return (start if start < end else BAD), 0
    if linktype in (SLL, SLL2):
        header = 16 if linktype == SLL else 20
        if start + header > end:
            return BAD, 0
        kind = _ethertype(buf, start + (14 if linktype == SLL else 0))[0]
        if kind in IP_ETHERTYPES:
            return (start + header if start + header < end else BAD), 0
        if kind == 0x0004:  # Linux's ETH_P_802_2: an 802.2 LLC frame
            return walk(LLC, buf, start + header, end)
        if kind < 0x0600:
            return f"Linux cooked protocol 0x{kind:04x}", 0
        return walk(kind, buf, start + header, end)
    if linktype in (NULL, LOOP):
        if start + 4 > end:
            return BAD, 0
        family = int.from_bytes(buf[start : start + 4], "big" if linktype == LOOP else "little")
        if family > 0xFFFF:  # written by a big-endian host
            family = int.from_bytes(buf[start : start + 4], "big")
        if family in NULL_IPV4 or family in NULL_IPV6:
            return start + 4, 0
        if family > 0xFFFF:
            return BAD, 0
        return f"loopback address family {family}", 0
    return BAD, 0  # a link type we cannot read: its packets are unreadable


def ip_packet(buf: bytes, at: int, end: int) -> Packet | IpFragment | None:
    """The IPv4 or IPv6 packet at ``at``; None when its headers are not IP."""
    if at >= end:
        return None
    version = buf[at] >> 4
    if version == 4:
        return _ipv4_packet(buf, at, end)
    if version == 6:
        return _ipv6_packet(buf, at, end)
    return None


def _ipv4_packet(buf: bytes, at: int, end: int) -> Packet | IpFragment | None:
    if at + 20 > end:
        return None
    first, total, ident, flags, proto = _ipv4(buf, at)
    header = (first & 15) * 4
    if first >> 4 != 4 or header < 20 or at + header > end:
        return None
    if total == 0:  # how "BIG TCP" and offloaded super-packets appear in a capture
        if proto != TCP:
            return None
        stop, size = end, end - at
    elif total < header:
        return None
    else:
        stop, size = (at + total if at + total < end else end), total
    src, dst = buf[at + 12 : at + 16], buf[at + 16 : at + 20]
    if flags & 0x3FFF:  # more fragments, or an offset
        offset = (flags & 0x1FFF) * 8
        key = (src, dst, proto, ident)
        return IpFragment(
            key, 4, proto, offset, bool(flags & 0x2000), src, dst, buf, at + header, stop, size
        )
    return (proto, src, dst, buf, at + header, stop, size)


def _ipv6_packet(buf: bytes, at: int, end: int) -> Packet | IpFragment | None:
    if at + 40 > end:
        return None
    _, length, next_header = _ipv6(buf, at)
    if length == 0:  # a jumbogram (RFC 2675) or an offloaded super-packet
        stop, size = end, end - at
    else:
        stop, size = min(at + 40 + length, end), 40 + length
    src, dst = buf[at + 8 : at + 24], buf[at + 24 : at + 40]
    walked = extension_headers(next_header, buf, at + 40, stop)
    if walked is None:
        return None
    next_header, position = walked
    if next_header != IPV6_FRAGMENT:
        return (next_header, src, dst, buf, position, stop, size)
    if position + 8 > stop:
        return None
    inner, flags, ident = _fragment6(buf, position)
    offset, more = flags & 0xFFF8, bool(flags & 1)
    if not offset and not more:  # an atomic fragment (RFC 6946): a whole packet
        walked = extension_headers(inner, buf, position + 8, stop)
        if walked is None or walked[0] == IPV6_FRAGMENT:
            return None
        return (walked[0], src, dst, buf, walked[1], stop, size)
    key = (src, dst, 0, ident)
    return IpFragment(key, 6, inner, offset, more, src, dst, buf, position + 8, stop, size)


def extension_headers(next_header: int, buf: bytes, at: int, end: int) -> tuple[int, int] | None:
    """Skip IPv6 extension headers up to the transport or a fragment header: (next header, at)."""
    while next_header in IPV6_EXTENSIONS:
        if at + 8 > end:
            return None
        length = (buf[at + 1] + 2) * 4 if next_header == 51 else (buf[at + 1] + 1) * 8
        next_header = buf[at]
        at += length
    if at > end:
        return None
    return next_header, at
