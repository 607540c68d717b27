"""Find the IP and transport layers in a dissected frame, or say why there are none."""

from __future__ import annotations

from typing import cast

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, _IPv6ExtHdr
from scapy.packet import NoPayload, Packet, Padding, Raw

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}

# Link-layer "next protocol" values that promise an IP packet.
_IP_ETHERTYPES = {0x0800, 0x86DD}
_IP_LOOPBACK_FAMILIES = {2, 24, 28, 30}


def network_layer(packet: Packet) -> IP | IPv6 | None:
    layer = packet
    while not isinstance(layer, NoPayload):
        if isinstance(layer, IP | IPv6):
            return layer
        layer = layer.payload
    return None


def promises_ip(packet: Packet) -> bool:
    """Whether the link layer says IP follows (so a missing IP layer means garbage)."""
    if isinstance(packet, Raw):
        return True  # a raw-IP link type whose first byte made no sense
    kind = getattr(packet, "type", None)
    if kind is None:
        kind = getattr(packet, "proto", None)
    if not isinstance(kind, int):
        return False
    if type(packet).__name__.startswith("Loopback"):
        return kind in _IP_LOOPBACK_FAMILIES
    return kind in _IP_ETHERTYPES


def transport_layer(
    network: IP | IPv6,
) -> tuple[str, TCP | UDP | bytes, int, bool, bool] | None:
    """(proto name, TCP/UDP layer or raw payload, IP bytes, is fragment, is first fragment)."""
    if isinstance(network, IP):
        if network.version != 4 or network.ihl is None or network.ihl < 5:
            return None
        header = network.ihl * 4
        # Length 0 is how IPv4 "BIG TCP" super-packets appear in a capture: keep those.
        if network.len is None or 0 < network.len < header:
            return None
        if network.len == 0 and network.proto != 6:
            return None
        fragment = bool(int(network.flags) & 1) or network.frag > 0
        first = network.frag == 0
        number = int(network.proto)
        size = int(network.len) or header
        layer: Packet = network.payload
        if not first:
            return PROTO_NAMES.get(number, f"ip-{number}"), b"", size, True, False
    else:
        if network.version != 6 or network.plen is None:
            return None
        size = 40 + int(network.plen)
        number = int(network.nh)
        fragment = first = False
        layer = network.payload
        while isinstance(layer, _IPv6ExtHdr):
            number = int(layer.nh)
            if isinstance(layer, IPv6ExtHdrFragment):
                fragment = True
                first = layer.offset == 0
                if not first:
                    return PROTO_NAMES.get(number, f"ip-{number}"), b"", size, True, False
            layer = layer.payload
        first = first or not fragment
    name = PROTO_NAMES.get(number, f"ip-{number}")
    if number in (6, 17):
        expected = TCP if number == 6 else UDP
        if type(layer) is not expected:
            return None  # header missing or cut short
        return name, cast(TCP | UDP, layer), size, fragment, first
    raw = b"" if isinstance(layer, NoPayload) else bytes(layer)
    if isinstance(network, IP) and network.len:
        raw = raw[: size - network.ihl * 4]
    return name, raw, size, fragment, first


def payload_bytes(transport: Packet) -> bytes:
    payload = transport.payload
    if isinstance(payload, NoPayload | Padding):
        return b""
    if isinstance(payload, Raw):
        return bytes(payload.load)
    return bytes(payload)
