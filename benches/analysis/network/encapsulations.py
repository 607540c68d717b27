"""What lies between a frame's link header and its IP packet, and inside tunnels.

A frame's payload is walked header by header from its ethertype: VLAN tags
(802.1Q, 802.1ad, QinQ, any depth), PPPoE sessions (PPP), MPLS label stacks,
802.2 LLC/SNAP, provider backbone (802.1ah) and Ethernet carried whole
(transparent Ethernet bridging, ERSPAN, a pseudowire). Tunnels that IP carries
(GRE, VXLAN) hand their payload back to the same walk; IP-in-IP needs none.
:mod:`~benches.analysis.network.packets` reads the IP packet where the walk ends.

The walk ends in one of three ways: the offset of an IP header; NOT_IP, a frame
of link control the bench knows (ARP, LLDP, STP, LACP, EAPOL, PPP's own
control, ...); or a label naming what it could not read ("ethertype 0x88b5").
BAD is a frame cut short or one that breaks its header's rules. Every header
counts one level of :data:`MAX_DEPTH`: deeper nesting is BAD, never a loop, and
every step moves forward, so the walk is linear in the frame.
"""

from __future__ import annotations

import struct

NOT_IP = -1  # the link layer says something else follows (ARP, LLDP, ...)
BAD = -2  # the frame is too short for its link header, or promises IP and is not
# Headers (a VLAN tag, an MPLS label, a tunnel, ...) between a frame's link header and
# its innermost IP packet. Mirrored lab traffic reaches 6 to 8 (ERSPAN over a VLAN,
# then the phone's QinQ frame); twice that is no frame anyone sends.
MAX_DEPTH = 16

Walked = tuple["int | str", int]  # (offset of the IP header, NOT_IP, BAD or a label; depth)

ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
IP_ETHERTYPES = frozenset({ETHERTYPE_IPV4, ETHERTYPE_IPV6})
VLAN_TAGS = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
PPPOE_SESSION = 0x8864
MPLS = frozenset({0x8847, 0x8848})
BRIDGED_ETHERNET = 0x6558  # transparent Ethernet bridging (GRE, NVGRE)
ERSPAN_2, ERSPAN_3 = 0x88BE, 0x22EB
BACKBONE = 0x88E7  # 802.1ah I-tag, then the customer's Ethernet header
PPP_IN_GRE = 0x880B  # PPTP's enhanced GRE
# Link control and other traffic that is not the phone's IP: counted as non-IP.
LINK_CONTROL = frozenset({
    0x0806,  # ARP
    0x8035,  # RARP
    0x88CC,  # LLDP
    0x8809,  # slow protocols: LACP, marker, OAM
    0x888E,  # EAPOL
    0x88C7,  # 802.11i pre-authentication
    0x890D,  # 802.11 data encapsulation (TDLS, fast BSS transition)
    0x8863,  # PPPoE discovery
    0x9000,  # loopback (configuration testing protocol keepalives)
    0x8808,  # Ethernet flow control (PAUSE)
    0x8902,  # 802.1ag connectivity fault management
    0x88F5, 0x88F6, 0x22EA,  # MVRP, MMRP, MSRP
    0x88F7,  # PTP
    0x893A,  # IEEE 1905.1
})  # fmt: skip
# Pseudo-kinds for the walk, beyond every ethertype.
ETHERNET_FRAME = 0x10000  # a whole Ethernet header starts here
PPP = 0x10001  # a PPP protocol field (after an optional FF 03) starts here
LLC = 0x10002  # an 802.2 LLC header starts here
PPP_IPV4, PPP_IPV6, PPP_MPLS, PPP_MPLS_MULTICAST = 0x0021, 0x0057, 0x0281, 0x0283
VXLAN_PORT = 4789

_u16 = struct.Struct("!H").unpack_from


def walk(kind: int, buf: bytes, at: int, end: int, depth: int = 0) -> Walked:
    """From a payload of ``kind`` (an ethertype or a pseudo-kind) at ``buf[at:end]`` to the
    IP header inside it: (its offset, or NOT_IP, BAD or a label; the depth reached)."""
    while True:
        if kind in IP_ETHERTYPES:
            return (at, depth) if at < end else (BAD, depth)
        depth += 1
        if depth > MAX_DEPTH:
            return BAD, depth
        if kind == ETHERNET_FRAME:
            if at + 14 > end:
                return BAD, depth
            kind = _u16(buf, at + 12)[0]
            at += 14
            if kind < 0x0600:  # an 802.3 length: LLC follows, and ends the frame
                end = min(end, at + kind)
                kind = LLC
            continue
        if kind in VLAN_TAGS:
            if at + 4 > end:
                return BAD, depth
            kind = _u16(buf, at + 2)[0]
            at += 4
            if kind < 0x0600:
                end = min(end, at + kind)
                kind = LLC
        elif kind == PPPOE_SESSION:
            if at + 6 > end or buf[at] != 0x11 or buf[at + 1] != 0:
                return BAD, depth
            end = min(end, at + 6 + _u16(buf, at + 4)[0])
            kind, at = PPP, at + 6
        elif kind == PPP:
            if at + 1 < end and buf[at] == 0xFF and buf[at + 1] == 0x03:
                at += 2  # HDLC address and control
            if at >= end:
                return BAD, depth
            if buf[at] & 1:  # a compressed, one-byte protocol field
                protocol, at = buf[at], at + 1
            elif at + 2 <= end:
                protocol, at = _u16(buf, at)[0], at + 2
            else:
                return BAD, depth
            if protocol in (PPP_IPV4, PPP_IPV6):
                return (at, depth) if at < end else (BAD, depth)
            if protocol in (PPP_MPLS, PPP_MPLS_MULTICAST):
                kind = 0x8847
            elif protocol >= 0x8000:  # LCP, IPCP, authentication, ...: PPP's own control
                return NOT_IP, depth
            else:
                return f"PPP protocol 0x{protocol:04x}", depth
        elif kind in MPLS:
            return _mpls(buf, at, end, depth)
        elif kind == LLC:
            if at + 3 > end:
                return BAD, depth
            if buf[at] == 0xAA and buf[at + 1] == 0xAA:  # SNAP
                if at + 8 > end:
                    return BAD, depth
                if buf[at + 3 : at + 6] not in (b"\x00\x00\x00", b"\x00\x00\xf8"):
                    return NOT_IP, depth  # an organisation's own (CDP, VTP, DTP, ...)
                kind, at = _u16(buf, at + 6)[0], at + 8
            else:
                return NOT_IP, depth  # STP, NetBIOS, IPX over LLC, ...
        elif kind == BRIDGED_ETHERNET:
            kind = ETHERNET_FRAME
        elif kind == BACKBONE:
            kind, at = ETHERNET_FRAME, at + 4
        elif kind == ERSPAN_2:
            if at + 8 > end or buf[at] >> 4 != 1:
                return BAD, depth
            kind, at = ETHERNET_FRAME, at + 8
        elif kind == ERSPAN_3:
            if at + 12 > end or buf[at] >> 4 != 2:
                return BAD, depth
            frame_type = (buf[at + 10] >> 2) & 0x1F
            at += 20 if buf[at + 11] & 1 else 12  # the platform-specific subheader
            if frame_type == 2:  # IP, with no Ethernet header
                return _by_version(buf, at, end, depth)
            if frame_type != 0:
                return f"ERSPAN frame type {frame_type}", depth
            kind = ETHERNET_FRAME
        elif kind == PPP_IN_GRE:
            kind = PPP
        elif kind in LINK_CONTROL:
            return NOT_IP, depth
        elif kind > 0xFFFF:  # a pseudo-kind the walk never makes
            return BAD, depth
        else:
            return f"ethertype 0x{kind:04x}", depth


def _mpls(buf: bytes, at: int, end: int, depth: int) -> Walked:
    """A label stack to its bottom, then what the first nibble says follows."""
    while True:
        if at + 4 > end:
            return BAD, depth
        bottom = buf[at + 2] & 1
        at += 4
        if bottom:
            break
        depth += 1
        if depth > MAX_DEPTH:
            return BAD, depth
    if at >= end:
        return BAD, depth
    nibble = buf[at] >> 4
    if nibble == 0:  # a pseudowire's control word, then the Ethernet frame it carries
        return walk(ETHERNET_FRAME, buf, at + 4, end, depth)
    if nibble == 1:  # the associated channel (G-ACh): OAM, BFD
        return NOT_IP, depth
    return _by_version(buf, at, end, depth)


def _by_version(buf: bytes, at: int, end: int, depth: int) -> Walked:
    """An IP header told only by its version nibble."""
    if at >= end:
        return BAD, depth
    nibble = buf[at] >> 4
    if nibble == 4 or nibble == 6:
        return at, depth
    return f"MPLS or ERSPAN payload of version {nibble}", depth


def gre(buf: bytes, at: int, end: int) -> tuple[int, int] | None:
    """The kind and offset of a GRE packet's payload (RFC 2784, 2890, 1701; PPTP's
    version 1); None when the header breaks its rules or is cut short."""
    if at + 4 > end:
        return None
    flags, protocol = _u16(buf, at)[0], _u16(buf, at + 2)[0]
    version = flags & 7
    if version == 0:
        length = 4 + 4 * (bool(flags & 0xC000) + bool(flags & 0x2000) + bool(flags & 0x1000))
        if flags & 0x4000:  # source routing (RFC 1701): entries up to an empty one
            position = at + length
            for _ in range(MAX_DEPTH + 1):  # more entries than that: no route anyone sends
                if position + 4 > end:
                    return None
                family, size = _u16(buf, position)[0], buf[position + 3]
                position += 4 + size
                if family == 0 and size == 0:
                    break
            else:
                return None
            length = position - at
        if protocol == ERSPAN_2 and not flags & 0x1000:  # ERSPAN type I: no header
            protocol = ETHERNET_FRAME
    elif version == 1:  # PPTP: key (payload length, call) always, then sequence, ack
        if protocol != PPP_IN_GRE or not flags & 0x2000:
            return None
        length = 8 + 4 * (bool(flags & 0x1000) + bool(flags & 0x0080))
    else:
        return None
    if at + length > end:
        return None
    return protocol, at + length


def vxlan(buf: bytes, at: int, end: int) -> int | None:
    """The offset of the Ethernet frame in the UDP datagram at ``at`` to the VXLAN port;
    None when it does not carry a VXLAN header (the I flag)."""
    if at + 16 > end or not buf[at + 8] & 0x08:
        return None
    return at + 16
