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

from dataclasses import dataclass
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
