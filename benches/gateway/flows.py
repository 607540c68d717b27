"""Group packets into bidirectional flows and put each side's bytes in order.

A flow is keyed by (proto, client ip, client port, server ip, server port) in
one capture file. Each side of it becomes a :class:`Stream`: the bytes that
side sent, in order, plus which frame each piece came from. Whatever produces
a Stream later (full TCP reassembly, a TLS-intercepting proxy) the analyzer
only ever reads Streams. How TCP segments are put in order: see
:mod:`benches.gateway.streams`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from scapy.layers.inet import TCP
from scapy.packet import Packet

from benches.gateway.dissect import network_layer, payload_bytes, promises_ip, transport_layer
from benches.gateway.protocols import (
    ClientHello,
    HttpRequest,
    parse_http_request,
    parse_tls_client_hello,
)
from benches.gateway.streams import (
    SEQ_MOD,
    Segment,
    Side,
    Stream,
    datagram_stream,
    later,
    tcp_stream,
)

# Ports whose side is the server when no SYN says otherwise.
SERVICE_PORTS = frozenset({53, 80, 443, 853, 8080, 8443})

SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04

Endpoint = tuple[str, int]  # (ip, port); port 0 for protocols without ports


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
    sides: dict[Endpoint, Side] = field(default_factory=dict)


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
        network = network_layer(packet)
        if network is None:
            if promises_ip(packet):
                self.counters.unreadable += 1
            else:
                self.counters.non_ip += 1
            return
        parsed = transport_layer(network)
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
            payload = payload_bytes(transport)
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
        side = pending.sides.setdefault(src, Side())
        pending.sides.setdefault(dst, Side())
        if proto != "tcp":
            if payload:
                side.segments.append(Segment(0, frame, time, payload))
            return
        if flags & SYN:
            side.syn_seq = seq
            side.pure_syn = side.pure_syn or not flags & ACK
            side.syn_ack = side.syn_ack or bool(flags & ACK)
        if flags & ACK and not flags & RST:
            side.max_ack = ack if side.max_ack is None else later(side.max_ack, ack)
        if flags & FIN:
            side.fin_seq = (seq + len(payload) + (1 if flags & SYN else 0)) % SEQ_MOD
        if payload:
            start = (seq + 1) % SEQ_MOD if flags & SYN else seq
            side.segments.append(Segment(start, frame, time, payload))

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


def _finish(pcap: str, pending: _Pending, phones: frozenset[str]) -> Flow:
    client, server = _orientation(pending, phones)
    client_side = pending.sides[client]
    server_side = pending.sides[server]
    if pending.proto == "tcp":
        to_server = tcp_stream(client_side, server_side.max_ack)
        to_client = tcp_stream(server_side, client_side.max_ack)
    else:
        to_server = datagram_stream(client_side)
        to_client = datagram_stream(server_side)
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
