"""What reading the captures gave, before any destination is named or placed.

One process's reading (every flow, or one shard's: :mod:`~benches.analysis.packet_loop`)
becomes a :class:`Readout` of plain records, cheap to send between processes.
:func:`merge` puts the shards' readouts together as one process would have
read them: flows in the order they began, each capture's counts once, DNS
answers in the order they were read. Naming needs every answer, from any
shard, so it comes after the merge (:mod:`~benches.analysis.analyzer`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple, cast

from benches.analysis.attribution.names import Answer, name_only
from benches.analysis.inspection import FlowInspection, Inspector, RawMatch
from benches.analysis.network import flows as flowmod
from benches.analysis.protocols.notes import FlowNote
from benches.analysis.protocols.readers import Facts
from benches.analysis.results import CaptureStats, DnsQuery


class FlowRecord(NamedTuple):
    """One flow as read, with what its protocol readers learned."""

    capture: int  # index of its capture in the analysis
    pcap: str
    proto: str
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    protocol: str  # "tls", "quic", "http", "dns", or the transport
    sni: str | None  # the TLS or QUIC ClientHello's name (not an address literal)
    host: str | None  # the first request's Host (not an address literal)
    tls: bool
    packets: int
    bytes: int
    bytes_to_server: int
    bytes_to_client: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    gaps: int
    notes: tuple[FlowNote, ...]  # what the readers could not read
    client_mac: str | None = None  # the first frame's Ethernet address of each side
    server_mac: str | None = None
    outer: int = 0  # a tunnel's own flow: how far out (orders flows begun in one frame)


@dataclass
class Readout:
    flows: list[FlowRecord] = field(default_factory=list)  # by capture, then first frame
    matches: list[RawMatch] = field(default_factory=list)  # .flow: an index in ``flows``
    queries: list[DnsQuery] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)  # in the order they were read
    captures: list[CaptureStats] = field(default_factory=list)


# A worker's readout goes to the parent in parts of this many items: the parent unpickles a
# part while the worker pickles the next. Flows and queries travel as plain tuples, which
# pickle in about half the time of a NamedTuple or a dataclass (tens of thousands a night).
PART = 2000
FLOWS, MATCHES, QUERIES, ANSWERS, CAPTURES = "flows", "matches", "queries", "answers", "captures"


def parts(readout: Readout, size: int | None = None) -> Iterator[tuple[str, list[Any]]]:
    """The readout as (kind, items) messages of ``size`` items at most (:data:`PART`),
    in order; :func:`add_part` puts them back."""
    size = size or PART
    for start in range(0, len(readout.flows), size):
        yield FLOWS, [tuple(record) for record in readout.flows[start : start + size]]
    for start in range(0, len(readout.queries), size):
        yield QUERIES, [(q.name, q.pcap, q.packet, q.time, q.client_ip, q.server_ip)
                        for q in readout.queries[start : start + size]]  # fmt: skip
    for start in range(0, len(readout.answers), size):
        yield ANSWERS, readout.answers[start : start + size]
    for start in range(0, len(readout.matches), size):  # mostly none; a hostile capture's many
        yield MATCHES, readout.matches[start : start + size]
    yield CAPTURES, readout.captures


def add_part(readout: Readout, kind: str, items: list[Any]) -> None:
    """One message of :func:`parts`, added to the readout being put back together."""
    if kind == FLOWS:
        readout.flows += map(FlowRecord._make, items)
    elif kind == QUERIES:
        readout.queries += [DnsQuery(*query) for query in items]
    elif kind == ANSWERS:
        readout.answers += items
    elif kind == MATCHES:
        readout.matches += items
    elif kind == CAPTURES:
        readout.captures += items
    else:
        raise ValueError(f"not a part of a readout: {kind!r}")


def take(
    inspector: Inspector,
    raw_flows: Sequence[Sequence[flowmod.FlowState]],
    captures: list[CaptureStats],
) -> Readout:
    """The readout of an inspector's flows: ``raw_flows`` per capture, each in the order
    they began. Call ``search_datagrams`` first."""
    records: list[FlowRecord] = []
    index: dict[int, int] = {}  # FlowInspection.index -> index in records
    for capture, flows in enumerate(raw_flows):
        for raw in flows:
            inspection = cast(FlowInspection, raw.sink)  # opened by the Inspector
            index[inspection.index] = len(records)
            records.append(_record(capture, raw, inspection))
    matches = [dataclasses.replace(m, flow=index[m.flow]) for m in inspector.matches]
    dns = inspector.dns
    return Readout(records, matches, dns.queries, dns.answers, captures)


def merge(readouts: Sequence[Readout]) -> Readout:
    """The shards' readouts as one: what one process reading every flow would give."""
    if len(readouts) == 1:
        return readouts[0]
    order = sorted(
        (record.capture, record.first_frame, -record.outer, shard, number)
        for shard, readout in enumerate(readouts)
        for number, record in enumerate(readout.flows)
    )
    merged = Readout()
    flows = merged.flows
    # Each shard's flow number -> its index in the merged flows.
    position = [[0] * len(readout.flows) for readout in readouts]
    for _, _, _, shard, number in order:
        position[shard][number] = len(flows)
        flows.append(readouts[shard].flows[number])
    for shard, readout in enumerate(readouts):
        merged.matches += [
            dataclasses.replace(m, flow=position[shard][m.flow]) for m in readout.matches
        ]
        merged.queries += readout.queries
        merged.answers += readout.answers
    # A frame is read by one shard, so the answers of one frame come from one shard,
    # already in order; the sort is stable.
    merged.answers.sort(key=itemgetter(0, 1))
    merged.captures = [_sum(stats) for stats in zip(*(r.captures for r in readouts), strict=True)]
    return merged


def _record(capture: int, raw: flowmod.FlowState, inspection: FlowInspection) -> FlowRecord:
    info, facts = raw.info, inspection.facts
    hello = facts.client_hello
    macs = raw.macs or (None, None)
    return FlowRecord(
        capture,
        info.pcap,
        info.proto,
        info.client_ip,
        info.client_port,
        info.server_ip,
        info.server_port,
        _protocol(info.proto, facts),
        name_only(hello.sni if hello is not None else facts.quic_sni),
        name_only(facts.http.host if facts.http is not None else None),
        hello is not None or facts.quic,
        raw.packets,
        raw.bytes,
        inspection.to_server.bytes,
        inspection.to_client.bytes,
        raw.first_frame,
        raw.last_frame,
        raw.first_time,
        raw.last_time,
        raw.gaps,
        tuple(facts.notes),
        flowmod.mac_text(macs[0]),
        flowmod.mac_text(macs[1]),
        raw.outer,
    )


def _protocol(proto: str, facts: Facts) -> str:
    if facts.client_hello is not None:
        return "tls"
    if facts.quic:
        return "quic"
    if facts.http is not None:
        return "http"
    if facts.dns:
        return "dns"
    return proto


def _sum(stats: tuple[CaptureStats, ...]) -> CaptureStats:
    """One capture's counts from every shard: each shard counts its own flows' problems,
    and shard 0 alone what every shard sees (records, frames, fragments)."""
    first = stats[0]
    return CaptureStats(
        pcap=first.pcap,
        packets=sum(s.packets for s in stats),
        unreadable=sum(s.unreadable for s in stats),
        truncated=sum(s.truncated for s in stats),
        fragments=sum(s.fragments for s in stats),
        non_ip=sum(s.non_ip for s in stats),
        unknown_frames=_sum_counts(s.unknown_frames for s in stats),
        ip_packets=None if first.ip_packets is None else sum(s.ip_packets or 0 for s in stats),
        stopped=first.stopped,
    )


def _sum_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for kind, number in count.items():
            total[kind] = total.get(kind, 0) + number
    return total
