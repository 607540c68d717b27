"""One capture, packet by packet, into flows: the analyzer's hot loop, whole or one shard.

records (:mod:`~benches.analysis.pcap.files`) → IP packets from raw bytes
(:mod:`~benches.analysis.network.packets`), fragments made whole
(:mod:`~benches.analysis.network.defrag`) → the flow table
(:mod:`~benches.analysis.network.flows`), which hands every flow's bytes to whatever
``opener`` opens for it (the seam, :mod:`~benches.analysis.network.streams`).

Given a :class:`~benches.analysis.pcap.shard.Shard`, the loop reads only that
shard's flows, though it streams every record, so frame numbers stay exact:

- the common packet (Ethernet, IPv4 without options, TCP or UDP, not a
  fragment) of another shard's flow is skipped as its record is read;
- any other packet is parsed, then read only by its flow's shard;
- every shard reassembles every IP fragment, and the whole datagram goes to
  the shard of its flow;
- a frame read through a tunnel (GRE, IP-in-IP, VXLAN) also counts on the flow of
  each tunnel's own endpoints (no payload: the inner flow has it), read by the
  shard of that flow's key;
- what every shard sees alike (records, truncated, unreadable and non-IP
  frames, fragments never made whole) only shard 0 counts; each shard counts
  its own packets' unreadable transport headers.

The out-of-order budget of :mod:`~benches.analysis.network.tcp` is shared out between
the shards, so their memory together stays within the one process's bound.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from benches.analysis.network.defrag import Defragmenter
from benches.analysis.network.flows import NO_LINK, FlowState, FlowTable
from benches.analysis.network.packets import (
    ETHERNET,
    MAX_DEPTH,
    NOT_IP,
    TCP,
    UDP,
    IpFragment,
    Opaque,
    Packet,
    Tunnelled,
    inner_packet,
    parse,
)
from benches.analysis.network.streams import FlowOpener
from benches.analysis.network.tcp import Budget
from benches.analysis.pcap.clock import Clock
from benches.analysis.pcap.files import PcapReader
from benches.analysis.pcap.shard import IPV4_ETHERTYPE, NO_PORTS, Shard, common_key
from benches.analysis.results import CaptureStats

SWEEP_MASK = 0xFFF  # look for idle flows every 4,096 frames
UNKNOWN_KINDS = 64  # kinds of unreadable frame named apart; the rest are counted together
OTHER_KINDS = "other kinds"
FRAME_LEVEL = MAX_DEPTH + 1  # a frame's tunnels lie further out than a datagram's inside it


def read_flows(
    capture: PcapReader,
    opener: FlowOpener,
    phones: Collection[str] = (),
    shard: Shard | None = None,
    clock: Clock | None = None,
    phone_macs: Collection[str] = (),
) -> tuple[list[FlowState], CaptureStats]:
    """Every flow of the capture, or only ``shard``'s (closed, in the order each began),
    and the capture's counts (a shard's share of them).

    ``clock``: its ``frame`` follows the frames read, so that a shard's DNS answers
    can be put back in the order one process would have read them.
    ``phones``, ``phone_macs``: the rack's addresses and MACs (who is the client).
    """
    budget = Budget.share(shard.count) if shard is not None else None
    table = FlowTable(str(capture.path), opener, phones, budget, phone_macs)
    defrag = Defragmenter()
    add, ipv4 = table.add, table.ipv4
    handlers = table.handlers(SWEEP_MASK, clock)  # what ipv4 reads, the compiled walk reads
    unread = Unread()  # frames every shard sees alike
    bad = 0  # this reader's own packets that turned out unreadable
    with capture:
        for frame, time, linktype, buf, start, end in capture.records(shard, handlers):
            if not frame & SWEEP_MASK:
                table.sweep(time)
            if clock is not None:
                clock.frame = frame
            if (
                linktype == ETHERNET
                and buf[start + 12 : start + 14] == IPV4_ETHERTYPE
                and ipv4(frame, time, buf, start + 14, end)
            ):
                continue  # the common case, read in place
            packet = parse(linktype, buf, start, end)
            link_at = start if linktype == ETHERNET else NO_LINK  # where a new flow's MACs are
            if type(packet) is Tunnelled:  # the tunnels' own flows, then what they carry
                carriers(shard, table, frame, time, packet, 1, buf, link_at, FRAME_LEVEL)
                packet = packet.inner
            if type(packet) is tuple:  # a Packet; an IpFragment is a NamedTuple
                ip_packet: Packet = packet  # type: ignore[assignment]  # mypy cannot see `is`
                if _ours(shard, linktype, buf, start, end) or owns(shard, ip_packet):
                    add(frame, time, ip_packet, 1, buf, link_at)
            elif type(packet) is IpFragment:
                whole = defrag.add(packet, time)
                if whole is not None:
                    inner = inner_packet(whole[0])  # a tunnel's datagram, made whole
                    if type(inner) is Tunnelled:
                        carriers(shard, table, frame, time, inner, whole[1], buf, link_at, 0)
                        inner = inner.inner
                    if type(inner) is tuple:
                        if owns(shard, inner):  # type: ignore[arg-type]
                            add(frame, time, inner, whole[1], buf, link_at)  # type: ignore[arg-type]
                    elif type(inner) is Opaque:
                        unread.held(inner.held)
                        if owns(shard, inner.tunnel):
                            add(frame, time, inner.tunnel, whole[1], buf, link_at)
                    else:  # a fragment inside a fragmented tunnel
                        unread.unreadable += 1
            elif type(packet) is Opaque:
                unread.held(packet.held)
                if owns(shard, packet.tunnel):  # its bytes are still searched
                    add(frame, time, packet.tunnel, 1, buf, link_at)
            elif packet == NOT_IP or type(packet) is str:
                unread.held(packet)
            elif _ours(shard, linktype, buf, start, end):
                bad += 1
            else:
                unread.unreadable += 1
    defrag.finish()
    flows = table.finish()
    stats = capture.stats
    every = shard is None or shard.index == 0  # counts what every shard sees alike
    counts = CaptureStats(
        pcap=str(capture.path),
        packets=stats.records if every else 0,
        unreadable=table.counters.unreadable
        + bad
        + (stats.unreadable + unread.unreadable if every else 0),
        truncated=stats.truncated if every else 0,
        fragments=defrag.unreassembled if every else 0,
        non_ip=unread.non_ip if every else 0,
        unknown_frames=unread.unknown if every else {},
        ip_packets=sum(flow.packets for flow in flows) - table.counters.carried,
        stopped=stats.stopped if every else None,
    )
    return sorted(flows, key=lambda f: f.first_frame), counts


@dataclass
class Unread:
    """Frames not read as IP, which every shard sees alike (shard 0 counts them)."""

    non_ip: int = 0  # link control the bench knows (ARP, LLDP, ...)
    unreadable: int = 0
    unknown: dict[str, int] = field(default_factory=dict)  # neither, by what they hold

    def held(self, what: int | str) -> None:
        """One more frame (or a tunnel's payload) that holds ``what``: NOT_IP, BAD or a
        label (:func:`~benches.analysis.network.packets.parse`)."""
        if type(what) is str:
            if what not in self.unknown and len(self.unknown) >= UNKNOWN_KINDS:
                what = OTHER_KINDS  # named apart in bounded room
            self.unknown[what] = self.unknown.get(what, 0) + 1
        elif what == NOT_IP:
            self.non_ip += 1
        else:
            self.unreadable += 1


def carriers(
    shard: Shard | None, table: FlowTable, frame: int, time: float, tunnelled: Tunnelled,
    count: int, link: bytes, link_at: int, level: int,
) -> None:  # fmt: skip
    """The flows of the tunnels a frame was read through: each one its own shard's, by
    its own key (the two ends: :meth:`FlowTable.carrier` keys no ports), so that one
    process and N shards give the same flows. ``level``:
    FRAME_LEVEL for the frame's own tunnels, 0 for those inside a datagram made whole
    there; with the depth it orders the flows one frame begins (readout's merge)."""
    layers = len(tunnelled.carriers)
    for depth, carrier in enumerate(tunnelled.carriers):
        if shard is None or shard.owns_key(carrier[1] + carrier[2] + NO_PORTS):
            table.carrier(frame, time, carrier, level + layers - depth, count, link, link_at)


def _ours(shard: Shard | None, linktype: int, buf: bytes, start: int, end: int) -> bool:
    """Without a shard every packet is ours; with one, so is a common packet that got
    this far (records() left out the other shards' common packets)."""
    return shard is None or common_key(linktype, buf, start, end) is not None


def owns(shard: Shard | None, packet: Packet) -> bool:
    """Whether ``packet``'s flow is the shard's (any flow without a shard): its key, as
    :meth:`~benches.analysis.pcap.shard.Shard.owns_key` takes it."""
    if shard is None:
        return True
    proto, src, dst, buf, start, end, _ = packet
    if proto in (TCP, UDP) and start + 4 <= end:
        return shard.owns_key(src + dst + buf[start : start + 4])
    return shard.owns_key(src + dst + NO_PORTS)
