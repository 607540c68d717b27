"""One flow's state: its counters, its two sides, and which side is the client.

Who is the client is decided when the flow starts: who sent the SYN (or not
the SYN-ACK); else the phone (by address, else by the frame's MAC); else who
talks to a service port; else the higher port.
"""

from __future__ import annotations

import ipaddress
import socket

from benches.analysis.network.packets import TCP
from benches.analysis.network.streams import FlowInfo, FlowSink, StreamSink
from benches.analysis.network.tcp import ACK, SYN, Budget, Reassembler

# Ports whose side is the server when no SYN says otherwise.
SERVICE_PORTS = frozenset({53, 80, 443, 853, 8080, 8443})


class Side:
    """What one endpoint of a flow sends."""

    __slots__ = ("flow", "sink")

    def __init__(self, flow: FlowState, sink: StreamSink) -> None:
        self.flow = flow
        self.sink = sink

    def release(self) -> None:
        del self.flow


class TcpSide(Side):
    __slots__ = ("peer", "stream", "ack", "syn_seq")

    def __init__(self, flow: FlowState, sink: StreamSink, budget: Budget) -> None:
        super().__init__(flow, sink)
        self.peer: TcpSide = self
        self.stream = Reassembler(sink, budget)
        self.ack: int | None = None  # the highest ACK this side sent (about the peer's bytes)
        self.syn_seq: int | None = None

    def release(self) -> None:
        super().release()
        del self.peer


class FlowState:
    """One flow's counters and state; ``client``/``server`` are its two sides."""

    __slots__ = ("proto", "info", "sink", "client", "server", "packets", "bytes",
                 "first_frame", "last_frame", "first_time", "last_time", "closed",
                 "macs", "outer")  # fmt: skip

    def __init__(self, proto: int, info: FlowInfo, sink: FlowSink, frame: int, time: float):
        self.proto = proto
        self.info = info
        self.sink = sink
        self.client: Side
        self.server: Side
        self.packets = 0
        self.bytes = 0  # IP bytes both ways, headers included
        self.first_frame = self.last_frame = frame
        self.first_time = self.last_time = time
        self.closed = False
        # (client's MAC, server's MAC) from the first frame, when it was Ethernet.
        self.macs: tuple[bytes, bytes] | None = None
        # How far out a tunnel's own flow lay in its first frame (0: not a tunnel's):
        # one frame can begin a carrier's flow and the inner one, outermost first.
        self.outer = 0

    def release(self) -> None:
        """The analysis is done with the flow: cut the references its sides hold back to
        it, so that reference counting frees them at once and the cycle collector never
        has to walk them."""
        self.client.release()
        self.server.release()

    @property
    def gaps(self) -> int:
        sides = (self.client, self.server)
        return sum(s.stream.gaps for s in sides if isinstance(s, TcpSide))


def sender_is_client(
    proto: int, src: bytes, sport: int, dst: bytes, dport: int, flags: int,
    phones: frozenset[bytes], macs: bytes | None = None,
    phone_macs: frozenset[bytes] = frozenset(),
) -> bool:  # fmt: skip
    """``macs``: the first frame's Ethernet destination and source (12 bytes), if any."""
    if proto == TCP and flags & SYN:
        return not flags & ACK
    if (src in phones) != (dst in phones):
        return src in phones
    if macs is not None and phone_macs:
        src_phone, dst_phone = macs[6:] in phone_macs, macs[:6] in phone_macs
        if src_phone != dst_phone:
            return src_phone
    if (sport in SERVICE_PORTS) != (dport in SERVICE_PORTS):
        return dport in SERVICE_PORTS
    if sport != dport:
        return sport > dport
    return True


def address_text(address: bytes) -> str:
    if len(address) == 4:
        return socket.inet_ntoa(address)  # what ipaddress writes, faster
    return str(ipaddress.IPv6Address(address))  # RFC 5952, as names.canonical writes it
