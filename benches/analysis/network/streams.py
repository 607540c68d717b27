"""The seam: one flow's two byte streams, and whatever reads them.

Whatever produces a flow's bytes (TCP reassembly of a capture here; later a
TLS-intercepting proxy) calls a :class:`FlowSink`'s two :class:`StreamSink`
objects with the bytes each side sent, in order, as they become known:

- ``data(offset, chunk, frame, time)``: the next bytes of the stream, at
  ``offset`` (bytes since the stream began), from the packet ``frame``;
- ``gap(offset)``: bytes the stream carried were never seen; the next data
  starts at ``offset``. A producer counts gaps; readers only resynchronise;
- ``stray(offset, chunk, frame)``: bytes seen on the wire that are *not* part
  of the stream as placed: a retransmission that overlaps bytes already
  placed (TCP keeps the first copy), bytes after the stream ended. Readers
  may still search them, so a copy that differs cannot hide anything;
- ``datagram(chunk, frame, time)``: one message of a message-oriented
  transport (UDP, ICMP), whole;
- ``idle()``: nothing came for a while (the stream may still go on): settle
  what waits for more bytes and free what can be freed;
- ``close()``: the stream ended; nothing follows.

A producer closes each stream once, then the ``FlowSink``. A producer opens a
FlowSink with :class:`FlowInfo` (who talks to whom, and whether the bytes were
decrypted by a proxy) from whatever reads flows: the analyzer's is
:class:`benches.analysis.inspection.Inspector`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FlowInfo:
    pcap: str
    proto: str  # "tcp", "udp", "icmp", "icmpv6" or "ip-N"
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    decrypted: bool = False  # bytes from a TLS-intercepting proxy, not the wire

    def __init__(
        self, pcap: str, proto: str, client_ip: str, client_port: int, server_ip: str,
        server_port: int, decrypted: bool = False,
    ) -> None:  # fmt: skip
        # Each slot set by its own descriptor: the frozen dataclass's __init__ calls
        # object.__setattr__ once a field, about 11,000 instructions a flow against 6,600
        # here, and a capture has tens of thousands of flows.
        (set_pcap, set_proto, set_client_ip, set_client_port, set_server_ip, set_server_port,
         set_decrypted) = _FLOW_INFO_SLOTS  # fmt: skip
        set_pcap(self, pcap)
        set_proto(self, proto)
        set_client_ip(self, client_ip)
        set_client_port(self, client_port)
        set_server_ip(self, server_ip)
        set_server_port(self, server_port)
        set_decrypted(self, decrypted)


# FlowInfo's slot descriptors' setters, in field order (tests check the order).
_FLOW_INFO_SLOTS = tuple(getattr(FlowInfo, f.name).__set__ for f in fields(FlowInfo))


class StreamSink(Protocol):
    def data(self, offset: int, chunk: bytes, frame: int, time: float) -> None: ...

    def gap(self, offset: int) -> None: ...

    def stray(self, offset: int, chunk: bytes, frame: int) -> None: ...

    def datagram(self, chunk: bytes, frame: int, time: float) -> None: ...

    def idle(self) -> None: ...

    def close(self) -> None: ...


class FlowSink(Protocol):
    @property
    def to_server(self) -> StreamSink: ...

    @property
    def to_client(self) -> StreamSink: ...

    def close(self) -> None: ...


class FlowOpener(Protocol):
    def open(self, info: FlowInfo) -> FlowSink: ...
