"""Group packets into bidirectional flows and put each side's bytes in order.

A flow is keyed by (proto, client ip, client port, server ip, server port) in
one capture file. Each side of it becomes a :class:`Stream`: the bytes that
side sent, in order, plus which frame each piece came from. Whatever produces
a Stream later (full TCP reassembly, a TLS-intercepting proxy) the analyzer
only ever reads Streams.

TCP in this issue: payloads are ordered by sequence number; exact and
overlapping retransmits are dropped (first copy wins); a hole in sequence
space starts a new run and counts as a gap, because bytes the capture never
saw cannot be shown to be clean.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, cast

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, _IPv6ExtHdr
from scapy.packet import NoPayload, Packet, Padding, Raw

from benches.gateway.protocols import (
    ClientHello,
    HttpRequest,
    parse_http_request,
    parse_tls_client_hello,
)

# Ports whose side is the server when no SYN says otherwise.
SERVICE_PORTS = frozenset({53, 80, 443, 853, 8080, 8443})
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
SEQ_MOD = 1 << 32

SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04

# Link-layer "next protocol" values that promise an IP packet.
_IP_ETHERTYPES = {0x0800, 0x86DD}
_IP_LOOPBACK_FAMILIES = {2, 24, 28, 30}

Endpoint = tuple[str, int]  # (ip, port); port 0 for protocols without ports


class Piece(NamedTuple):
    offset: int  # where this piece's bytes begin in Stream.data
    frame: int  # frame number of the packet that carried them
    time: float


@dataclass
class Stream:
    """The bytes one side of a flow sent, in order.

    ``runs`` holds the offsets where a contiguous run begins: after a TCP gap,
    and at every datagram for UDP. Matching never spans two runs.
    """

    data: bytes = b""
    pieces: list[Piece] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    gaps: int = 0  # holes in TCP sequence space: bytes the capture never saw
    decrypted: bool = False  # bytes from a TLS-intercepting proxy, not the wire

    def __len__(self) -> int:
        return len(self.data)

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        """Each contiguous run as (offset, bytes)."""
        if not self.runs:
            return
        ends = [*self.runs[1:], len(self.data)]
        for start, end in zip(self.runs, ends, strict=True):
            if end > start:
                yield start, self.data[start:end]

    def piece_at(self, offset: int) -> Piece:
        """The piece (packet) that carried the byte at ``offset``."""
        index = bisect.bisect_right(self.pieces, offset, key=lambda p: p.offset) - 1
        return self.pieces[max(index, 0)]

    def frame_at(self, offset: int) -> int:
        return self.piece_at(offset).frame


@dataclass
class Flow:
    pcap: str
    proto: str  # "tcp", "udp", "icmp", "icmpv6" or "ip-N"
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    packets: int
    bytes: int  # IP bytes both ways, headers included
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    to_server: Stream
    to_client: Stream
    client_hello: ClientHello | None = None
    http: HttpRequest | None = None

    @property
    def key(self) -> tuple[str, str, int, str, int]:
        return (self.proto, self.client_ip, self.client_port, self.server_ip, self.server_port)

    @property
    def tls(self) -> bool:
        return self.client_hello is not None

    @property
    def sni(self) -> str | None:
        return self.client_hello.sni if self.client_hello else None

    @property
    def http_host(self) -> str | None:
        return self.http.host if self.http else None

    @property
    def gaps(self) -> int:
        return self.to_server.gaps + self.to_client.gaps

    def streams(self) -> tuple[tuple[str, Stream], ...]:
        return (("to_server", self.to_server), ("to_client", self.to_client))


@dataclass
class FlowCounters:
    packets: int = 0  # frames handed to the table
    non_ip: int = 0  # frames that are not IP at all (ARP, LLDP, ...)
    unreadable: int = 0  # frames that promise IP but cannot be parsed
    fragments: int = 0  # IP fragments (not reassembled in this issue)


class _Segment(NamedTuple):
    seq: int
    frame: int
    time: float
    payload: bytes


@dataclass
class _Side:
    """What one endpoint of a flow sent."""

    segments: list[_Segment] = field(default_factory=list)
    syn_seq: int | None = None
    pure_syn: bool = False  # sent SYN without ACK: this side opened the connection
    syn_ack: bool = False
    fin_seq: int | None = None
    max_ack: int | None = None  # highest ACK this side sent (about the peer's bytes)


@dataclass
class _Pending:
    proto: str
    first_sender: Endpoint
    first_receiver: Endpoint
    first_frame: int
    first_time: float
    last_frame: int = 0
    last_time: float = 0.0
    packets: int = 0
    bytes: int = 0
    sides: dict[Endpoint, _Side] = field(default_factory=dict)


class FlowTable:
    """Feed it one capture's packets in order; then ask for the flows.

    ``phones`` are the addresses of the phones under test: when no SYN says
    who opened a flow, a phone's side is taken as the client.
    """

    def __init__(self, pcap: str, phones: Collection[str] = ()) -> None:
        self.pcap = pcap
        self.phones = frozenset(phones)
        self.counters = FlowCounters()
        self._open: dict[tuple[str, Endpoint, Endpoint], _Pending] = {}
        self._closed: list[_Pending] = []

    def add(self, frame: int, time: float, packet: Packet) -> None:
        self.counters.packets += 1
        try:
            self._add(frame, time, packet)
        except Exception:  # a frame scapy dissected into something nonsensical
            self.counters.unreadable += 1

    def flows(self) -> list[Flow]:
        pending = [*self._closed, *self._open.values()]
        flows = [_finish(self.pcap, p, self.phones) for p in pending]
        return sorted(flows, key=lambda f: f.first_frame)

    def _add(self, frame: int, time: float, packet: Packet) -> None:
        network = _network_layer(packet)
        if network is None:
            if _promises_ip(packet):
                self.counters.unreadable += 1
            else:
                self.counters.non_ip += 1
            return
        parsed = _transport(network)
        if parsed is None:
            self.counters.unreadable += 1
            return
        proto, transport, size, fragment, first_fragment = parsed
        if fragment:
            self.counters.fragments += 1
            if not first_fragment:
                return  # no transport header to key it by
        src = (str(network.src), 0)
        dst = (str(network.dst), 0)
        flags = 0
        seq = ack = 0
        if isinstance(transport, bytes):
            payload = transport
        else:
            src = (src[0], int(transport.sport))
            dst = (dst[0], int(transport.dport))
            payload = _payload_bytes(transport)
        if isinstance(transport, TCP):
            if transport.dataofs is None or transport.dataofs < 5:
                self.counters.unreadable += 1
                return
            flags = int(transport.flags)
            seq = int(transport.seq)
            ack = int(transport.ack)
        pending = self._pending(proto, src, dst, frame, time, flags, seq)
        pending.packets += 1
        pending.bytes += size
        pending.last_frame = frame
        pending.last_time = time
        side = pending.sides.setdefault(src, _Side())
        pending.sides.setdefault(dst, _Side())
        if proto != "tcp":
            if payload:
                side.segments.append(_Segment(0, frame, time, payload))
            return
        if flags & SYN:
            side.syn_seq = seq
            side.pure_syn = side.pure_syn or not flags & ACK
            side.syn_ack = side.syn_ack or bool(flags & ACK)
        if flags & ACK and not flags & RST:
            side.max_ack = ack if side.max_ack is None else _later(side.max_ack, ack)
        if flags & FIN:
            side.fin_seq = (seq + len(payload) + (1 if flags & SYN else 0)) % SEQ_MOD
        if payload:
            start = (seq + 1) % SEQ_MOD if flags & SYN else seq
            side.segments.append(_Segment(start, frame, time, payload))

    def _pending(
        self,
        proto: str,
        src: Endpoint,
        dst: Endpoint,
        frame: int,
        time: float,
        flags: int,
        seq: int,
    ) -> _Pending:
        low, high = sorted((src, dst))
        key = (proto, low, high)
        current = self._open.get(key)
        if current is not None and proto == "tcp" and flags & SYN and not flags & ACK:
            side = current.sides.get(src)
            if side is not None and side.syn_seq is not None and side.syn_seq != seq:
                # The same ports reused for a new connection: a new flow.
                self._closed.append(current)
                current = None
        if current is None:
            current = _Pending(proto, src, dst, frame, time)
            self._open[key] = current
        return current


def _network_layer(packet: Packet) -> IP | IPv6 | None:
    layer = packet
    while not isinstance(layer, NoPayload):
        if isinstance(layer, IP | IPv6):
            return layer
        layer = layer.payload
    return None


def _promises_ip(packet: Packet) -> bool:
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


def _transport(
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


def _payload_bytes(transport: Packet) -> bytes:
    payload = transport.payload
    if isinstance(payload, NoPayload | Padding):
        return b""
    if isinstance(payload, Raw):
        return bytes(payload.load)
    return bytes(payload)


def _signed(delta: int) -> int:
    """A sequence-number difference as a signed 32-bit value."""
    return ((delta + (1 << 31)) % SEQ_MOD) - (1 << 31)


def _later(a: int, b: int) -> int:
    return b if _signed(b - a) > 0 else a


def _finish(pcap: str, pending: _Pending, phones: frozenset[str]) -> Flow:
    client, server = _orientation(pending, phones)
    client_side = pending.sides[client]
    server_side = pending.sides[server]
    if pending.proto == "tcp":
        to_server = _tcp_stream(client_side, server_side.max_ack)
        to_client = _tcp_stream(server_side, client_side.max_ack)
    else:
        to_server = _datagram_stream(client_side)
        to_client = _datagram_stream(server_side)
    flow = Flow(
        pcap=pcap,
        proto=pending.proto,
        client_ip=client[0],
        client_port=client[1],
        server_ip=server[0],
        server_port=server[1],
        packets=pending.packets,
        bytes=pending.bytes,
        first_frame=pending.first_frame,
        last_frame=pending.last_frame,
        first_time=pending.first_time,
        last_time=pending.last_time,
        to_server=to_server,
        to_client=to_client,
    )
    if pending.proto == "tcp":
        first_run = next(to_server.chunks(), (0, b""))[1]
        flow.client_hello = parse_tls_client_hello(first_run)
        if flow.client_hello is None:
            flow.http = parse_http_request(first_run)
    return flow


def _orientation(pending: _Pending, phones: frozenset[str]) -> tuple[Endpoint, Endpoint]:
    """(client, server): who sent SYN; else the phone; else who talks to a service
    port; else the higher port is the client."""
    a, b = pending.first_sender, pending.first_receiver
    side_a, side_b = pending.sides[a], pending.sides[b]
    if side_a.pure_syn != side_b.pure_syn:
        return (a, b) if side_a.pure_syn else (b, a)
    if side_a.syn_ack != side_b.syn_ack:
        return (b, a) if side_a.syn_ack else (a, b)
    if (a[0] in phones) != (b[0] in phones):
        return (a, b) if a[0] in phones else (b, a)
    a_service, b_service = a[1] in SERVICE_PORTS, b[1] in SERVICE_PORTS
    if a_service != b_service:
        return (b, a) if a_service else (a, b)
    if a[1] != b[1]:
        return (b, a) if a[1] < b[1] else (a, b)
    return a, b


def _datagram_stream(side: _Side) -> Stream:
    stream = Stream()
    parts = []
    offset = 0
    for segment in side.segments:
        stream.pieces.append(Piece(offset, segment.frame, segment.time))
        stream.runs.append(offset)
        parts.append(segment.payload)
        offset += len(segment.payload)
    stream.data = b"".join(parts)
    return stream


def _tcp_stream(side: _Side, peer_ack: int | None) -> Stream:
    stream = Stream()
    if side.syn_seq is not None:
        base: int | None = (side.syn_seq + 1) % SEQ_MOD
    elif side.segments:
        first = side.segments[0].seq
        base = (first + min(_signed(s.seq - first) for s in side.segments)) % SEQ_MOD
    else:
        base = None  # no SYN, no data: nothing to place
    if base is None:
        return stream
    ordered = sorted(side.segments, key=lambda s: (_signed(s.seq - base), s.frame))
    parts: list[bytes] = []
    length = 0
    cursor = 0  # sequence offset (from base) of the next byte expected
    for segment in ordered:
        start = _signed(segment.seq - base)
        end = start + len(segment.payload)
        if end <= cursor:
            continue  # retransmit of bytes already placed
        if not parts or start > cursor:
            stream.runs.append(length)  # the first bytes, or the first after a hole
        if start > cursor:
            stream.gaps += 1
            cursor = start
        piece = segment.payload[cursor - start :]
        stream.pieces.append(Piece(length, segment.frame, segment.time))
        parts.append(piece)
        length += len(piece)
        cursor = end
    stream.data = b"".join(parts)
    if _missing_tail(side, base, cursor, peer_ack):
        stream.gaps += 1
    return stream


def _missing_tail(side: _Side, base: int, cursor: int, peer_ack: int | None) -> bool:
    """Whether the peer acknowledged, or a FIN claimed, bytes past the last one seen."""
    if side.fin_seq is not None and _signed(side.fin_seq - base) > cursor:
        return True
    # +1: the peer may be acknowledging a FIN the capture did not see.
    return peer_ack is not None and _signed(peer_ack - base) > cursor + 1
