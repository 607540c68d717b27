"""IPv6 addresses that stand for an IPv4 address, and which IPv4 that is.

A phone on an IPv6-only network reaches an IPv4 server through a translator:
it sends to ``64:ff9b::<IPv4>`` and the packet arrives at the IPv4 address.
Such a destination is placed (country, owner, local or not) by the IPv4 inside
it, and both addresses are shown. The kinds read here:

``nat64``
    the well-known prefix ``64:ff9b::/96`` (RFC 6052 section 2.1): the IPv4 is
    the last 32 bits.
``nat64-local``
    the local-use prefix ``64:ff9b:1::/48`` (RFC 8215), in the RFC 6052
    section 2.2 layout of a /48: the IPv4 is bits 48..63 and 72..87, the
    u-octet (bits 64..71) between them and the suffix (bits 88..127) zero. A
    network may instead use a more-specific prefix from it; the bench reads the
    one it can tell apart, ``64:ff9b:1::/96`` (bits 48..95 zero: the IPv4 is
    the last 32 bits). Any other address in the /48 could be a /56, /64 or /96
    of the network's choosing: its IPv4 is not known (``address`` None), and
    the destination's country is unknown, which makes the verdict inconclusive.
``6to4``
    ``2002::/16`` (RFC 3056): bits 16..47 are the IPv4 of the site's 6to4
    router, which the packet is tunnelled to.
``teredo``
    ``2001::/32`` (RFC 4380 section 4): bits 32..63 are the Teredo server's
    IPv4, bits 96..127 the client's mapped (public) IPv4, inverted. The
    recipient of a phone's packets is the *client*: a Teredo relay delivers them
    to the client's mapped address and port (the client's NAT), and the server
    only helps the client qualify and open its NAT. So ``address`` is the
    client's IPv4 and ``server`` the server's, shown beside it.
``ipv4-mapped``
    ``::ffff:0:0/96`` (RFC 4291 section 2.5.5.2): the last 32 bits.

Other networks choose their own NAT64 prefix (a network-specific prefix): the
bench cannot tell one from an ordinary address, so :func:`rfc6052_ipv4` reads
any RFC 6052 layout given the prefix length, for when one is known.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

NAT64 = "nat64"
NAT64_LOCAL = "nat64-local"
SIX_TO_FOUR = "6to4"
TEREDO = "teredo"
IPV4_MAPPED = "ipv4-mapped"
# The kinds whose IPv6 address *is* the IPv4 host (a translation of it), not a route
# to a network behind it: a DNS A answer for the IPv4 names the IPv6 address too.
TRANSLATED = frozenset({NAT64, NAT64_LOCAL, IPV4_MAPPED})
# The kinds a relay somewhere on the Internet carries to the IPv4: an IPv4 of the
# bench's network inside one is no valid address, and says nothing of where it goes.
RELAYED = frozenset({SIX_TO_FOUR, TEREDO})

RFC6052_LENGTHS = (32, 40, 48, 56, 64, 96)
_U_OCTET = 8  # byte index of bits 64..71

_WELL_KNOWN = bytes.fromhex("0064ff9b") + bytes(8)  # 64:ff9b::/96
_LOCAL_USE = bytes.fromhex("0064ff9b0001")  # 64:ff9b:1::/48
_SIX_TO_FOUR = bytes.fromhex("2002")  # 2002::/16
_TEREDO = bytes.fromhex("20010000")  # 2001::/32
_MAPPED = bytes(10) + b"\xff\xff"  # ::ffff:0:0/96

PREFIXES = {
    NAT64: "64:ff9b::/96",
    NAT64_LOCAL: "64:ff9b:1::/48",
    SIX_TO_FOUR: "2002::/16",
    TEREDO: "2001::/32",
    IPV4_MAPPED: "::ffff:0:0/96",
}


@dataclass(frozen=True, slots=True)
class Embedding:
    """The IPv4 address an IPv6 address stands for."""

    kind: str  # NAT64, NAT64_LOCAL, SIX_TO_FOUR, TEREDO or IPV4_MAPPED
    address: str | None  # the IPv4 the packets go to; None: in the prefix, but unreadable
    prefix: str  # the prefix it was read by, as "64:ff9b::/96"
    server: str | None = None  # Teredo: the server's IPv4 (not the recipient)

    @property
    def translated(self) -> bool:
        """Whether the IPv6 address is the IPv4 host itself, translated (NAT64,
        IPv4-mapped), so a DNS answer for the IPv4 also names it."""
        return self.kind in TRANSLATED

    @property
    def relayed(self) -> bool:
        return self.kind in RELAYED

    def describe(self) -> str:
        """For people: "NAT64 of 1.0.1.1", "Teredo client 1.0.1.1 (server 65.54.227.120)"."""
        said = describe(self.kind, self.address)
        return f"{said} (server {self.server})" if self.server else said

    def to_dict(self) -> dict[str, str | None]:
        return {
            "address": self.address,
            "kind": self.kind,
            "prefix": self.prefix,
            "server": self.server,
        }


_LABELS = {
    NAT64: "NAT64 of",
    NAT64_LOCAL: "NAT64 (local-use prefix) of",
    SIX_TO_FOUR: "6to4 via",
    TEREDO: "Teredo client",
    IPV4_MAPPED: "IPv4-mapped",
}


def describe(kind: str, address: str | None) -> str:
    """The IPv4 an address stands for, for people: "NAT64 of 1.0.1.1"."""
    label = _LABELS.get(kind, kind)
    if address is None:
        return f"{label} an IPv4 not readable ({PREFIXES.get(kind, '?')})"
    return f"{label} {address}"


def embedding(address: ipaddress.IPv6Address) -> Embedding | None:
    """The IPv4 inside ``address``, or None when it is not in one of the prefixes.

    A handful of byte comparisons: called once per distinct destination address."""
    packed = address.packed
    if packed[:12] == _WELL_KNOWN:
        return Embedding(NAT64, _ipv4(packed[12:]), PREFIXES[NAT64])
    if packed[:12] == _MAPPED:
        return Embedding(IPV4_MAPPED, _ipv4(packed[12:]), PREFIXES[IPV4_MAPPED])
    if packed[:6] == _LOCAL_USE:
        return _local_use(packed)
    if packed[:2] == _SIX_TO_FOUR:
        return Embedding(SIX_TO_FOUR, _ipv4(packed[2:6]), PREFIXES[SIX_TO_FOUR])
    if packed[:4] == _TEREDO:
        client = bytes(b ^ 0xFF for b in packed[12:])
        return Embedding(TEREDO, _ipv4(client), PREFIXES[TEREDO], server=_ipv4(packed[4:8]))
    return None


def _local_use(packed: bytes) -> Embedding:
    """64:ff9b:1::/48: the /48 layout when it is well formed, else 64:ff9b:1::/96."""
    v48 = rfc6052_ipv4(packed, 48)
    if v48 is not None and not any(packed[11:]):
        return Embedding(NAT64_LOCAL, v48, PREFIXES[NAT64_LOCAL])
    if not any(packed[6:12]):
        return Embedding(NAT64_LOCAL, _ipv4(packed[12:]), "64:ff9b:1::/96")
    return Embedding(NAT64_LOCAL, None, PREFIXES[NAT64_LOCAL])


def rfc6052_ipv4(packed: bytes, length: int) -> str | None:
    """The IPv4 that an IPv4-embedded IPv6 address (16 bytes) carries under a prefix of
    ``length`` bits, laid out as RFC 6052 section 2.2 says: the 32 bits follow the
    prefix, stepping over the u-octet (bits 64..71), which must be zero. None for a
    length RFC 6052 does not define, or a non-zero u-octet. (The suffix after the IPv4
    is not checked: RFC 6052 reserves it, and a reader ignores it.)"""
    if len(packed) != 16 or length not in RFC6052_LENGTHS:
        return None
    if length == 96:
        return _ipv4(packed[12:])
    if packed[_U_OCTET]:
        return None
    start = length // 8
    before = packed[start:_U_OCTET]
    return _ipv4(before + packed[_U_OCTET + 1 : _U_OCTET + 1 + 4 - len(before)])


def synthesize(prefix: str, ipv4: str) -> str:
    """The IPv4-embedded IPv6 address of ``ipv4`` under ``prefix`` ("2001:db8::/32"), in
    RFC 6052 section 2.2's layout: the inverse of :func:`rfc6052_ipv4`."""
    network = ipaddress.IPv6Network(prefix)
    length = network.prefixlen
    if length not in RFC6052_LENGTHS:
        raise ValueError(f"{prefix}: RFC 6052 defines prefixes of {RFC6052_LENGTHS} bits")
    out = bytearray(network.network_address.packed)
    v4 = ipaddress.IPv4Address(ipv4).packed
    if length == 96:
        out[12:] = v4
    else:
        start = length // 8
        head = _U_OCTET - start
        out[start:_U_OCTET] = v4[:head]
        out[_U_OCTET] = 0
        out[_U_OCTET + 1 : _U_OCTET + 1 + 4 - head] = v4[head:]
    return str(ipaddress.IPv6Address(bytes(out)))


def _ipv4(four: bytes) -> str:
    return str(ipaddress.IPv4Address(four))
