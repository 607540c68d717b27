"""One shard of a parallel analysis: which flows it reads, decided by their key.

Flows are split between shards by a hash of their key (both addresses, then
both ports, as the packet carries them) that reads the same both ways, so the
two directions of a flow land together: the CRC-32 (zlib's) of the smaller of
the key and its reverse, modulo the number of shards. ``_records.c`` computes
the same hash when it skips another shard's records, so this is a contract.

Records are filtered here, before anything is parsed: the common packet
(Ethernet, IPv4 without options, TCP or UDP, not a fragment, not VXLAN) of another
shard's flow is skipped as its record is read (:meth:`Shard.foreign`, inlined
in :mod:`~benches.analysis.pcap.files` and in C). What every other packet is
worth to a shard is decided once it is parsed (the packet loop,
:mod:`~benches.analysis.packet_loop`).
"""

from __future__ import annotations

import struct
import zlib

from benches.analysis.pcap.linktypes import ETHERNET

NO_PORTS = b"\x00\x00\x00\x00"  # the ports of a flow key whose transport has none
CACHE_LIMIT = 1 << 20  # flow keys whose shard is remembered, before starting afresh
IPV4_ETHERTYPE = b"\x08\x00"
VXLAN = b"\x12\xb5"  # UDP port 4789: what it carries is parsed, never read in place
TCP, UDP = 6, 17  # the IP protocol numbers of the common packet
ipv4_head = struct.Struct("!B5xHxB").unpack_from  # version+IHL, flags+offset, protocol


class Shard:
    """Shard ``index`` of ``count``: which flows it reads."""

    __slots__ = ("index", "count", "known")

    def __init__(self, index: int, count: int) -> None:
        self.index = index
        self.count = count
        self.known: dict[bytes, bool] = {}  # flow key (as sent) -> this shard reads it

    def owns_key(self, key: bytes) -> bool:
        """``key``: both addresses, then both ports, as the packet carries them."""
        if len(self.known) >= CACHE_LIMIT:
            self.known.clear()
        back = _reverse(key)
        owned = zlib.crc32(min(key, back)) % self.count == self.index
        self.known[key] = self.known[back] = owned
        return owned

    def foreign(self, linktype: int, buf: bytes, start: int, end: int) -> bool:
        """A common packet of another shard's flow (read no further)."""
        key = common_key(linktype, buf, start, end)
        if key is None:
            return False
        owned = self.known.get(key)
        return not (self.owns_key(key) if owned is None else owned)


def common_key(linktype: int, buf: bytes, start: int, end: int) -> bytes | None:
    """The flow key of a common packet (Ethernet, IPv4 without options, TCP or UDP, not a
    fragment, not to VXLAN's port 4789): its addresses and ports. None for any other."""
    at = start + 14
    if linktype == ETHERNET and at + 24 <= end and buf[start + 12 : at] == IPV4_ETHERTYPE:
        first, fragment, proto = ipv4_head(buf, at)
        if first == 0x45 and not fragment & 0x3FFF and proto in (TCP, UDP):
            if proto == UDP and buf[at + 22] == 0x12 and buf[at + 23] == 0xB5:
                return None  # to VXLAN's port: the tunnelled packet's flow decides
            return buf[at + 12 : at + 24]
    return None


def _reverse(key: bytes) -> bytes:
    half = (len(key) - 4) // 2
    return key[half:-4] + key[:half] + key[-2:] + key[-4:-2]
