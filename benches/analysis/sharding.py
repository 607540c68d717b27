"""One shard of a parallel analysis: the whole capture streamed, only its own flows read.

Flows are split between shards by a hash of their addresses and ports that
reads the same both ways, so the two directions of a flow land together. Each
shard streams every record, so frame numbers stay exact:

- the common packet (Ethernet, IPv4 without options, TCP or UDP, not a
  fragment) of another shard's flow is skipped as its record is read
  (:meth:`Shard.foreign`, inlined in :mod:`~benches.analysis.pcap.files`);
- any other packet is parsed, then read only by its flow's shard;
- every shard reassembles every IP fragment, and the whole datagram goes to
  the shard of its flow;
- what every shard sees alike (records, truncated, unreadable and non-IP
  frames, fragments never made whole) only shard 0 counts; each shard counts
  its own packets' unreadable transport headers.

The out-of-order budget of :mod:`~benches.analysis.network.tcp` is shared out between
the shards, so their memory together stays within the one process's bound.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection

from benches.analysis.network.defrag import Defragmenter
from benches.analysis.network.flows import Flow, FlowTable, ipv4_header
from benches.analysis.network.packets import ETHERNET, NOT_IP, TCP, UDP, Fragment, Packet, parse
from benches.analysis.network.streams import FlowOpener
from benches.analysis.network.tcp import BUDGET, Budget
from benches.analysis.pcap.clock import Clock
from benches.analysis.pcap.files import PcapFile
from benches.analysis.reading import IPV4_ETHERTYPE, SWEEP_MASK
from benches.analysis.results import CaptureStats

NO_PORTS = b"\x00\x00\x00\x00"
CACHE_LIMIT = 1 << 20  # flow keys whose shard is remembered, before starting afresh


class Shard:
    """Shard ``index`` of ``count``: which packets it reads."""

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

    def owns(self, packet: Packet) -> bool:
        proto, src, dst, buf, start, end, _ = packet
        if proto in (TCP, UDP) and start + 4 <= end:
            return self.owns_key(src + dst + buf[start : start + 4])
        return self.owns_key(src + dst + NO_PORTS)

    def foreign(self, linktype: int, buf: bytes, start: int, end: int) -> bool:
        """A common packet of another shard's flow (read no further)."""
        key = common_key(linktype, buf, start, end)
        if key is None:
            return False
        owned = self.known.get(key)
        return not (self.owns_key(key) if owned is None else owned)


def common_key(linktype: int, buf: bytes, start: int, end: int) -> bytes | None:
    """The flow key of a common packet (Ethernet, IPv4 without options, TCP or UDP, not a
    fragment): its addresses and ports. None for any other packet."""
    at = start + 14
    if linktype == ETHERNET and at + 24 <= end and buf[start + 12 : at] == IPV4_ETHERTYPE:
        first, _, fragment, proto = ipv4_header(buf, at)
        if first == 0x45 and not fragment & 0x3FFF and proto in (TCP, UDP):
            return buf[at + 12 : at + 24]
    return None


def shard_of(key: bytes, count: int) -> int:
    """The shard of a flow key; its reverse (the other direction's key) gets the same."""
    return zlib.crc32(min(key, _reverse(key))) % count


def _reverse(key: bytes) -> bytes:
    half = (len(key) - 4) // 2
    return key[half:-4] + key[:half] + key[-2:] + key[-4:-2]


def read_shard(
    capture: PcapFile, opener: FlowOpener, phones: Collection[str], shard: Shard, clock: Clock
) -> tuple[list[Flow], CaptureStats]:
    """The shard's flows of the capture (closed, in the order each began) and its counts.

    ``clock.frame`` follows the frames the shard reads, so DNS answers can be put
    back in the order one process would have read them.
    """
    table = FlowTable(str(capture.path), opener, phones, Budget(BUDGET // shard.count))
    defrag = Defragmenter()
    add, ipv4, owns = table.add, table.ipv4, shard.owns
    handlers = table.handlers(SWEEP_MASK, clock)  # what ipv4 reads, the compiled walk reads
    non_ip = unreadable = 0  # seen by every shard
    bad = 0  # the shard's own packets that turned out unreadable
    with capture:
        for frame, time, linktype, buf, start, end in capture.records(shard, handlers):
            if not frame & SWEEP_MASK:
                table.sweep(time)
            clock.frame = frame
            if (
                linktype == ETHERNET
                and buf[start + 12 : start + 14] == IPV4_ETHERTYPE
                and ipv4(frame, time, buf, start + 14, end)
            ):
                continue  # the common case; other shards' were left out as records were read
            packet = parse(linktype, buf, start, end)
            if common_key(linktype, buf, start, end) is not None:  # kept for this shard
                if type(packet) is tuple:
                    add(frame, time, packet)  # type: ignore[arg-type]  # a Packet
                else:
                    bad += 1
            elif type(packet) is tuple:  # a Packet; a Fragment is a NamedTuple
                if owns(packet):  # type: ignore[arg-type]  # narrowed just above
                    add(frame, time, packet)  # type: ignore[arg-type]
            elif type(packet) is Fragment:
                whole = defrag.add(packet, time)
                if whole is not None and owns(whole[0]):
                    add(frame, time, *whole)
            elif packet == NOT_IP:
                non_ip += 1
            else:
                unreadable += 1
    defrag.finish()
    flows = table.finish()
    stats = capture.stats
    first_shard = shard.index == 0
    counts = CaptureStats(
        pcap=str(capture.path),
        packets=stats.records if first_shard else 0,
        unreadable=table.counters.unreadable
        + bad
        + (stats.unreadable + unreadable if first_shard else 0),
        truncated=stats.truncated if first_shard else 0,
        fragments=defrag.unreassembled if first_shard else 0,
        non_ip=non_ip if first_shard else 0,
    )
    return sorted(flows, key=lambda f: f.first_frame), counts
