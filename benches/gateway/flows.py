"""Group packets into bidirectional flows and hand each side's bytes on as they come.

A flow is keyed by (protocol, address, port, address, port) in one capture.
Both directions of the key point at the sending side
(:mod:`~benches.gateway.sides`), so a packet costs one dictionary lookup.

TCP sides go through a :class:`~benches.gateway.tcp.Reassembler`; other
protocols hand each payload on as a datagram. A TCP flow is closed, and its
buffers freed, once both FINs are delivered or on RST; the flow keeps its
counters (a last ACK still counts). A flow quiet for :data:`IDLE_TIMEOUT`
seconds of capture time gives up its holes and settles its pending matches.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Collection
from dataclasses import dataclass

from benches.gateway.packets import PROTO_NAMES, TCP, UDP, Packet
from benches.gateway.sides import Flow, Side, TcpSide, address_text, sender_is_client
from benches.gateway.streams import FlowInfo, FlowOpener
from benches.gateway.tcp import ACK, FIN, HALF, MASK, RST, SYN, Budget

__all__ = ["Flow", "FlowCounters", "FlowTable", "Side", "TcpSide"]
CONTROL, SYN_ACK, ACK_RST = FIN | SYN | RST, SYN | ACK, ACK | RST
IDLE_TIMEOUT = 300.0  # seconds of capture time without a packet
SWEEP_EVERY = 10.0  # seconds of capture time between looks for idle flows

_tcp = struct.Struct("!HHIIBB").unpack_from
_udp = struct.Struct("!HHH").unpack_from

Key = tuple[int, bytes, int, bytes, int]  # (protocol, source, port, destination, port)
TcpKey = tuple[bytes, int, bytes, int]


@dataclass(slots=True)
class FlowCounters:
    unreadable: int = 0  # transport headers that cannot be parsed


class FlowTable:
    """Feed it one capture's packets in order; ``finish()`` ends every open flow."""

    def __init__(self, pcap: str, opener: FlowOpener, phones: Collection[str] = ()) -> None:
        self.pcap = pcap
        self.opener = opener
        self.phones = frozenset(ipaddress.ip_address(p).packed for p in phones)
        self.counters = FlowCounters()
        self.flows: list[Flow] = []
        self.budget = Budget()
        self._tcp: dict[TcpKey, TcpSide] = {}
        self._other: dict[Key, Side] = {}
        self._open: dict[int, Flow] = {}  # id() -> TCP flow not yet closed
        self._swept = 0.0

    def add(self, frame: int, time: float, packet: Packet, count: int = 1) -> None:
        """One IP packet (``count`` fragments, once reassembled)."""
        proto, src, dst, buf, start, end, size = packet
        if proto == TCP:
            if start + 20 > end:
                self.counters.unreadable += 1
                return
            sport, dport, seq, ack, offset, flags = _tcp(buf, start)
            data = start + (offset >> 4) * 4
            if data < start + 20 or data > end:
                self.counters.unreadable += 1
                return
            side = self._tcp.get((src, sport, dst, dport))
            if side is None or (flags & SYN_ACK == SYN and _reused(side, seq)):
                side = self._new_tcp(src, sport, dst, dport, frame, time, flags)
            flow = side.flow
            flow.packets += count
            flow.bytes += size
            flow.last_frame = frame
            flow.last_time = time
            if flags & ACK_RST == ACK:
                last = side.ack
                if last is None or (ack - last) & MASK < HALF:
                    side.ack = ack
            if flags & CONTROL or flow.closed:
                self._control(side, flags, seq, buf[data:end], frame, time)
            elif data < end:
                stream = side.stream
                stream.segment(seq, buf[data:end], frame, time)
                if stream.fin_at is not None:  # a hole before the FIN may just have filled
                    self._close_if_done(side)
            return
        if proto == UDP:
            if start + 8 > end:
                self.counters.unreadable += 1
                return
            sport, dport, length = _udp(buf, start)
            stop = start + length if 8 <= length <= end - start else end
            start += 8
        else:
            sport = dport = 0
            stop = end
        other = self._other.get((proto, src, sport, dst, dport))
        if other is None:
            other = self._new_other(proto, src, sport, dst, dport, frame, time)
        flow = other.flow
        flow.packets += count
        flow.bytes += size
        flow.last_frame = frame
        flow.last_time = time
        if start < stop:
            other.sink.datagram(buf[start:stop], frame, time)

    def sweep(self, now: float) -> None:
        """Flows quiet for IDLE_TIMEOUT give up their holes and settle their matches."""
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        for flow in self._open.values():
            if now - flow.last_time > IDLE_TIMEOUT:
                for side in (flow.client, flow.server):
                    if isinstance(side, TcpSide):
                        side.stream.flush()
                    side.sink.idle()

    def finish(self) -> list[Flow]:
        """The capture ended: close every flow; every flow in the order it began."""
        for flow in list(self._open.values()):
            self._close(flow)
        for flow in self.flows:
            if not flow.closed:
                flow.closed = True
                flow.client.sink.close()
                flow.server.sink.close()
                flow.sink.close()
        self._tcp.clear()
        self._other.clear()
        return self.flows

    # --- TCP ------------------------------------------------------------------------

    def _control(
        self, side: TcpSide, flags: int, seq: int, data: bytes, frame: int, time: float
    ) -> None:
        """A SYN, FIN or RST, or any segment of a closed flow."""
        stream = side.stream
        if flags & SYN:
            if side.syn_seq is None:
                side.syn_seq = seq
            stream.syn(seq)
            seq = (seq + 1) & MASK  # data on a SYN starts after it
        if side.flow.closed:
            if data:
                side.sink.stray(stream.offset, data, frame)
            return
        if data:
            stream.segment(seq, data, frame, time)
        if flags & FIN:
            stream.fin((seq + len(data)) & MASK)
        if flags & RST:
            self._close(side.flow)
        else:
            self._close_if_done(side)

    def _close_if_done(self, side: TcpSide) -> None:
        if side.stream.finished and side.peer.stream.finished:
            self._close(side.flow)

    def _close(self, flow: Flow) -> None:
        if flow.closed:
            return
        flow.closed = True
        self._open.pop(id(flow), None)
        for side in (flow.client, flow.server):
            if isinstance(side, TcpSide):
                side.stream.close(side.peer.ack)
        flow.sink.close()

    # --- a new flow --------------------------------------------------------------------

    def _new_tcp(
        self, src: bytes, sport: int, dst: bytes, dport: int, frame: int, time: float, flags: int
    ) -> TcpSide:
        old = self._tcp.get((src, sport, dst, dport))
        if old is not None:  # the same ports reused for a new connection
            self._close(old.flow)
        client_first = sender_is_client(TCP, src, sport, dst, dport, flags, self.phones)
        flow = self._flow(TCP, src, sport, dst, dport, frame, time, client_first)
        sink = flow.sink
        client = TcpSide(flow, sink.to_server, self.budget)
        server = TcpSide(flow, sink.to_client, self.budget)
        client.peer, server.peer = server, client
        flow.client, flow.server = client, server
        first, second = (client, server) if client_first else (server, client)
        self._tcp[(src, sport, dst, dport)] = first
        self._tcp[(dst, dport, src, sport)] = second
        self._open[id(flow)] = flow
        return first

    def _new_other(
        self, proto: int, src: bytes, sport: int, dst: bytes, dport: int, frame: int, time: float
    ) -> Side:
        client_first = sender_is_client(proto, src, sport, dst, dport, 0, self.phones)
        flow = self._flow(proto, src, sport, dst, dport, frame, time, client_first)
        flow.client = Side(flow, flow.sink.to_server)
        flow.server = Side(flow, flow.sink.to_client)
        first, second = (flow.client, flow.server) if client_first else (flow.server, flow.client)
        self._other[(proto, src, sport, dst, dport)] = first
        self._other[(proto, dst, dport, src, sport)] = second
        return first

    def _flow(
        self, proto: int, src: bytes, sport: int, dst: bytes, dport: int, frame: int,
        time: float, client_first: bool,
    ) -> Flow:  # fmt: skip
        if not client_first:
            src, sport, dst, dport = dst, dport, src, sport
        name = PROTO_NAMES.get(proto, f"ip-{proto}")
        info = FlowInfo(self.pcap, name, address_text(src), sport, address_text(dst), dport)
        flow = Flow(proto, info, self.opener.open(info), frame, time)
        self.flows.append(flow)
        return flow


def _reused(side: TcpSide, seq: int) -> bool:
    """A SYN (without ACK) that opens a new connection on these ports."""
    if side.syn_seq is not None:
        return side.syn_seq != seq
    return side.flow.closed
