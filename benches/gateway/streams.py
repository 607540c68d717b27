"""One side of a flow as ordered bytes: the Stream, and how segments become one.

TCP in this issue: payloads are ordered by sequence number; exact and
overlapping retransmits are dropped (first copy wins); a hole in sequence
space starts a new run and counts as a gap, because bytes the capture never
saw cannot be shown to be clean.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

SEQ_MOD = 1 << 32


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


class Segment(NamedTuple):
    seq: int
    frame: int
    time: float
    payload: bytes


@dataclass
class Side:
    """What one endpoint of a flow sent."""

    segments: list[Segment] = field(default_factory=list)
    syn_seq: int | None = None
    pure_syn: bool = False  # sent SYN without ACK: this side opened the connection
    syn_ack: bool = False
    fin_seq: int | None = None
    max_ack: int | None = None  # highest ACK this side sent (about the peer's bytes)


def signed(delta: int) -> int:
    """A sequence-number difference as a signed 32-bit value."""
    return ((delta + (1 << 31)) % SEQ_MOD) - (1 << 31)


def later(a: int, b: int) -> int:
    return b if signed(b - a) > 0 else a


def datagram_stream(side: Side) -> Stream:
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


def tcp_stream(side: Side, peer_ack: int | None) -> Stream:
    stream = Stream()
    if side.syn_seq is not None:
        base: int | None = (side.syn_seq + 1) % SEQ_MOD
    elif side.segments:
        first = side.segments[0].seq
        base = (first + min(signed(s.seq - first) for s in side.segments)) % SEQ_MOD
    else:
        base = None  # no SYN, no data: nothing to place
    if base is None:
        return stream
    ordered = sorted(side.segments, key=lambda s: (signed(s.seq - base), s.frame))
    parts: list[bytes] = []
    length = 0
    cursor = 0  # sequence offset (from base) of the next byte expected
    for segment in ordered:
        start = signed(segment.seq - base)
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


def _missing_tail(side: Side, base: int, cursor: int, peer_ack: int | None) -> bool:
    """Whether the peer acknowledged, or a FIN claimed, bytes past the last one seen."""
    if side.fin_seq is not None and signed(side.fin_seq - base) > cursor:
        return True
    # +1: the peer may be acknowledging a FIN the capture did not see.
    return peer_ack is not None and signed(peer_ack - base) > cursor + 1
