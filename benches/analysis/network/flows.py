"""Group packets into bidirectional flows and hand each side's bytes on as they come.

A TCP or UDP flow is keyed by its addresses and ports, as the packet carries
them, in one capture. Both directions of the key point at the sending side
(:mod:`~benches.analysis.network.sides`), so a packet costs one dictionary lookup. The
common packet (IPv4 with a 20-byte header, not a fragment) is read in place
by :meth:`FlowTable.ipv4`, its key one slice of it; every other one is parsed
in full (:mod:`~benches.analysis.network.packets`) and given to :meth:`FlowTable.add`.

TCP sides go through a :class:`~benches.analysis.network.tcp.Reassembler`; other
protocols hand each payload on as a datagram. A TCP flow is closed, and its
buffers freed, once both FINs are delivered or on RST; the flow keeps its
counters (a last ACK still counts). A flow quiet for :data:`IDLE_TIMEOUT`
seconds of capture time gives up its holes and settles its pending matches.

A new flow keeps the Ethernet addresses of its first frame (:attr:`FlowState.macs`),
so a phone is known by its MAC too when its address changed: one slice per flow,
nothing per packet. The common packet's frame is Ethernet, its IPv4 header 20
bytes, so its MACs sit 34 bytes before the transport header; :meth:`FlowTable.add`
says where the frame's are (``link``, ``link_at``), or that it has none.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from collections.abc import Collection
from dataclasses import dataclass

from benches.analysis.network.packets import PROTO_NAMES, TCP, UDP, VXLAN_PORT, Packet
from benches.analysis.network.sides import FlowState, Side, TcpSide, address_text, sender_is_client
from benches.analysis.network.streams import FlowInfo, FlowOpener
from benches.analysis.network.tcp import ACK, FIN, HALF, MASK, RST, SYN, Budget
from benches.analysis.pcap.clock import Clock
from benches.analysis.pcap.recordwalk import Handlers

__all__ = ["FlowCounters", "FlowState", "FlowTable", "Side", "TcpSide", "mac_bytes", "mac_text"]
CONTROL, SYN_ACK, ACK_RST = FIN | SYN | RST, SYN | ACK, ACK | RST
COMMON_MACS = 34  # the common packet's MACs: Ethernet (14) and IPv4 (20) before its transport
NO_LINK = -1  # link_at: the frame has no Ethernet addresses
IDLE_TIMEOUT = 300.0  # seconds of capture time without a packet
SWEEP_EVERY = 10.0  # seconds of capture time between looks for idle flows

_tcp = struct.Struct("!IIBB").unpack_from  # after the ports: seq, ack, data offset, flags
_udp_length = struct.Struct("!H").unpack_from
ipv4_header = struct.Struct("!BxH2xHxB").unpack_from  # version+IHL, length, flags+offset, proto

# TCP and UDP flows are keyed by the bytes of both addresses and both ports, as the
# packet carries them (one slice of an IPv4 packet); other protocols by a tuple.
Key = bytes
OtherKey = tuple[int, bytes, int, bytes, int]  # (protocol, source, 0, destination, 0)


@dataclass(slots=True)
class FlowCounters:
    unreadable: int = 0  # transport headers that cannot be parsed
    carried: int = 0  # tunnels' own packets counted on their flows (their frames' again)


class FlowTable:
    """Feed it one capture's packets in order; ``finish()`` ends every open flow."""

    def __init__(
        self,
        pcap: str,
        opener: FlowOpener,
        phones: Collection[str] = (),
        budget: Budget | None = None,
        phone_macs: Collection[str] = (),
    ) -> None:
        """``budget``: out-of-order bytes all the table's connections may hold together.
        ``phones``, ``phone_macs``: the rack's addresses and MACs, to tell the client."""
        self.pcap = pcap
        self.opener = opener
        self.phones = frozenset(ipaddress.ip_address(p).packed for p in phones)
        self.phone_macs = frozenset(mac_bytes(m) for m in phone_macs)
        self.counters = FlowCounters()
        self.flows: list[FlowState] = []
        self.budget = budget or Budget()
        self._tcp: dict[Key, TcpSide] = {}
        self._udp: dict[Key, Side] = {}
        self._other: dict[OtherKey, Side] = {}
        self._open: dict[int, FlowState] = {}  # id() -> TCP flow not yet closed
        self._swept = 0.0

    def add(
        self, frame: int, time: float, packet: Packet, count: int = 1,
        link: bytes | None = None, link_at: int = NO_LINK,
    ) -> None:  # fmt: skip
        """One IP packet (``count`` fragments, once reassembled). ``link``: the frame's
        bytes, with its Ethernet header at ``link_at`` (NO_LINK: the frame has none)."""
        proto, src, dst, buf, start, end, size = packet
        if link is None:
            link_at = NO_LINK
        if proto in (TCP, UDP):
            if start + (20 if proto == TCP else 8) > end:
                self.counters.unreadable += 1
                return
            key = src + dst + buf[start : start + 4]
            if proto == TCP:
                self._tcp_packet(key, frame, time, buf, start, end, size, count, link, link_at)
            else:
                self._udp_packet(key, frame, time, buf, start, end, size, count, link, link_at)
            return
        other = self._other.get((proto, src, 0, dst, 0))
        if other is None:
            macs = _macs(buf, start, link, link_at)
            other = self._new_other(proto, src, 0, dst, 0, frame, time, macs)
        flow = other.flow
        flow.packets += count
        flow.bytes += size
        flow.last_frame = frame
        flow.last_time = time
        if start < end:
            other.sink.datagram(buf[start:end], frame, time)

    def carrier(
        self, frame: int, time: float, packet: Packet, outer: int, count: int = 1,
        link: bytes | None = None, link_at: int = NO_LINK,
    ) -> None:  # fmt: skip
        """A tunnel's own packet (GRE, IP-in-IP, VXLAN's UDP), read through: counted on the
        flow of its endpoints, its payload left alone (the inner packet's flow has it).
        ``outer``: how far out it lies (>= 1; :attr:`FlowState.outer` keeps the first).
        A VXLAN tunnel is one flow per pair of ends: its source port is a hash of the inner
        flow (RFC 7348), so it is left out of the key (client port 0, server port 4789)."""
        proto, src, dst, buf, _, end, size = packet
        key = (proto, src, 0, dst, 0)
        side = self._other.get(key)
        if side is None:
            if link is None:  # no frame to take MACs from (not the common packet's rule)
                link, link_at = b"", NO_LINK
            macs = _macs(buf, end, link, link_at)
            client_first = sender_is_client(
                proto, src, 0, dst, 0, 0, self.phones, macs, self.phone_macs
            )  # the phone's end, else the sender: no port tells
            port = VXLAN_PORT if proto == UDP else 0
            sport, dport = (0, port) if client_first else (port, 0)  # the server's: 4789
            first, second = self._sides(
                proto, src, sport, dst, dport, frame, time, macs, client_first
            )
            self._other[key] = first
            self._other[(proto, dst, 0, src, 0)] = second
            first.flow.outer = outer
            side = first
        flow = side.flow
        flow.packets += count
        flow.bytes += size
        flow.last_frame = frame
        flow.last_time = time
        self.counters.carried += count

    def handlers(self, sweep_mask: int = 0, clock: Clock | None = None) -> Handlers:
        """Where the compiled record walk hands the packets :meth:`ipv4` reads in place,
        having read them itself (:mod:`~benches.analysis.pcap.recordwalk`)."""
        return Handlers(self._tcp_packet, self._udp_packet, clock, sweep_mask)

    def ipv4(self, frame: int, time: float, buf: bytes, at: int, end: int) -> bool:
        """The common case, read in place: an IPv4 packet at ``buf[at:end]`` with a 20-byte
        header, not a fragment, carrying TCP or UDP (not to VXLAN's port). False when it is
        anything else (nothing was done: parse it in full and :meth:`add` it)."""
        if at + 24 > end:
            return False
        first, total, fragment, proto = ipv4_header(buf, at)
        if first != 0x45 or fragment & 0x3FFF or total < 24:
            return False
        stop = at + total if at + total < end else end
        # The addresses and the ports, which follow a 20-byte header: the flow's key.
        key = buf[at + 12 : at + 24]
        if proto == TCP:
            if at + 40 > stop:
                return False
            self._tcp_packet(key, frame, time, buf, at + 20, stop, total, 1)
            return True
        if proto == UDP:
            if at + 28 > stop or (buf[at + 22] == 0x12 and buf[at + 23] == 0xB5):
                return False  # cut short, or to VXLAN's port 4789: a tunnel, parse it
            self._udp_packet(key, frame, time, buf, at + 20, stop, total, 1)
            return True
        return False

    def _tcp_packet(
        self, key: bytes, frame: int, time: float, buf: bytes, start: int, end: int,
        size: int, count: int, link: bytes | None = None, link_at: int = NO_LINK,
    ) -> None:  # fmt: skip
        """A TCP segment at ``buf[start:end]``; ``key``: addresses and ports, as sent.
        ``link``: as :meth:`add` has it; None for the common packet (its frame is ``buf``)."""
        seq, ack, offset, flags = _tcp(buf, start + 4)
        data = start + (offset >> 4) * 4
        if data < start + 20 or data > end:
            self.counters.unreadable += 1
            return
        side = self._tcp.get(key)
        if side is None or (flags & SYN_ACK == SYN and _reused(side, seq)):
            macs = _macs(buf, start, link, link_at)
            side = self._new_tcp(key, frame, time, flags, macs)
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

    def _udp_packet(
        self, key: bytes, frame: int, time: float, buf: bytes, start: int, end: int,
        size: int, count: int, link: bytes | None = None, link_at: int = NO_LINK,
    ) -> None:  # fmt: skip
        """A UDP datagram at ``buf[start:end]``; ``key``: addresses and ports, as sent."""
        length = _udp_length(buf, start + 4)[0]
        stop = start + length if 8 <= length <= end - start else end
        side = self._udp.get(key)
        if side is None:
            side = self._new_udp(key, frame, time, _macs(buf, start, link, link_at))
        flow = side.flow
        flow.packets += count
        flow.bytes += size
        flow.last_frame = frame
        flow.last_time = time
        if start + 8 < stop:
            side.sink.datagram(buf[start + 8 : stop], frame, time)

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

    def finish(self) -> list[FlowState]:
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
        self._udp.clear()
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

    def _close(self, flow: FlowState) -> None:
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
        self, key: bytes, frame: int, time: float, flags: int, macs: bytes | None
    ) -> TcpSide:
        old = self._tcp.get(key)
        if old is not None:  # the same ports reused for a new connection
            self._close(old.flow)
        src, sport, dst, dport = _endpoints(key)
        client_first = sender_is_client(
            TCP, src, sport, dst, dport, flags, self.phones, macs, self.phone_macs
        )
        flow = self._flow(TCP, src, sport, dst, dport, frame, time, client_first, macs)
        sink = flow.sink
        client = TcpSide(flow, sink.to_server, self.budget)
        server = TcpSide(flow, sink.to_client, self.budget)
        client.peer, server.peer = server, client
        flow.client, flow.server = client, server
        first, second = (client, server) if client_first else (server, client)
        self._tcp[key] = first
        self._tcp[_reverse(key)] = second
        self._open[id(flow)] = flow
        return first

    def _new_udp(self, key: bytes, frame: int, time: float, macs: bytes | None) -> Side:
        src, sport, dst, dport = _endpoints(key)
        first, second = self._sides(UDP, src, sport, dst, dport, frame, time, macs)
        self._udp[key] = first
        self._udp[_reverse(key)] = second
        return first

    def _new_other(
        self, proto: int, src: bytes, sport: int, dst: bytes, dport: int, frame: int,
        time: float, macs: bytes | None,
    ) -> Side:  # fmt: skip
        first, second = self._sides(proto, src, sport, dst, dport, frame, time, macs)
        self._other[(proto, src, sport, dst, dport)] = first
        self._other[(proto, dst, dport, src, sport)] = second
        return first

    def _sides(
        self, proto: int, src: bytes, sport: int, dst: bytes, dport: int, frame: int,
        time: float, macs: bytes | None, client_first: bool | None = None,
    ) -> tuple[Side, Side]:  # fmt: skip
        """A new flow of datagrams: (the sender's side, the other side). ``client_first``:
        whether the sender is the client, when the caller knows."""
        if client_first is None:
            client_first = sender_is_client(
                proto, src, sport, dst, dport, 0, self.phones, macs, self.phone_macs
            )
        flow = self._flow(proto, src, sport, dst, dport, frame, time, client_first, macs)
        flow.client = Side(flow, flow.sink.to_server)
        flow.server = Side(flow, flow.sink.to_client)
        return (flow.client, flow.server) if client_first else (flow.server, flow.client)

    def _flow(
        self, proto: int, src: bytes, sport: int, dst: bytes, dport: int, frame: int,
        time: float, client_first: bool, macs: bytes | None,
    ) -> FlowState:  # fmt: skip
        if not client_first:
            src, sport, dst, dport = dst, dport, src, sport
        name = PROTO_NAMES.get(proto, f"ip-{proto}")
        info = FlowInfo(self.pcap, name, address_text(src), sport, address_text(dst), dport)
        flow = FlowState(proto, info, self.opener.open(info), frame, time)
        if macs is not None:  # the frame's (destination, source): the client's first
            flow.macs = (macs[6:], macs[:6]) if client_first else (macs[:6], macs[6:])
        self.flows.append(flow)
        return flow


def _macs(buf: bytes, start: int, link: bytes | None, link_at: int) -> bytes | None:
    """The Ethernet destination and source (12 bytes) of a new flow's first frame, or None.
    ``link`` None: the common packet, whose frame is ``buf`` (see the module's doc)."""
    if link is None:
        at = start - COMMON_MACS
        return buf[at : at + 12] if at >= 0 else None
    if link_at < 0 or link_at + 12 > len(link):
        return None
    return link[link_at : link_at + 12]


def mac_bytes(text: str) -> bytes:
    """``aa:bb:cc:dd:ee:ff`` (or with ``-``) as its 6 bytes."""
    return bytes.fromhex(text.replace(":", "").replace("-", ""))


@functools.lru_cache(maxsize=4096)  # a capture holds a few MACs, and many flows
def mac_text(mac: bytes | None) -> str | None:
    """6 bytes as ``aa:bb:cc:dd:ee:ff``; None for none, or for all zeros (loopback has no
    addresses: the virtual rack's frames carry zeros)."""
    if mac is None or len(mac) != 6 or not any(mac):
        return None
    return mac.hex(":")


def _endpoints(key: bytes) -> tuple[bytes, int, bytes, int]:
    """(source, port, destination, port) of a key: both addresses, then both ports."""
    half = (len(key) - 4) // 2
    ports = key[-4:]
    return key[:half], ports[0] << 8 | ports[1], key[half:-4], ports[2] << 8 | ports[3]


def _reverse(key: bytes) -> bytes:
    """The key of the other direction."""
    half = (len(key) - 4) // 2
    return key[half:-4] + key[:half] + key[-2:] + key[-4:-2]


def _reused(side: TcpSide, seq: int) -> bool:
    """A SYN (without ACK) that opens a new connection on these ports."""
    if side.syn_seq is not None:
        return side.syn_seq != seq
    return side.flow.closed
