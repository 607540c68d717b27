"""One direction of a TCP connection, put in order and handed on as it becomes contiguous.

Sequence numbers are compared modulo 2**32 relative to the next byte
expected, so a stream may wrap around (or run past 4 GiB). Stream offsets are
plain integers counted from the first byte (the one after the SYN, or the
first byte seen when the capture began mid-connection).

Overlaps, first copy wins: bytes already delivered, or already held out of
order, are never replaced by a later copy. The later copy's overlapping part
goes to ``StreamSink.stray`` (only when it differs, for held bytes) so a
retransmission that says something else is still searched; it cannot hide
behind the policy. This is also what the receiving host does for bytes it has
already delivered to its application. A segment that differs from several held
pieces gives one stray copy, from its first differing byte to its last.

A hole (bytes the stream carried that the capture never saw) is a *gap*: the
stream resumes after it, and :attr:`Reassembler.gaps` counts it. Holes are
given up when the flow ends, when it idles, and when the bytes or the pieces
held out of order pass :data:`MAX_HELD` or :data:`MAX_SEGMENTS` (or the shared
:class:`Budget`, which counts both: a one-byte piece costs far more memory than
its byte): memory depends on the connections open at once, not on the size of
the capture. At the end, bytes a FIN or the peer's ACK claims but the capture
never saw are a gap too.

Held pieces never overlap; they are kept in a list sorted by offset, found by
bisection, and taken off its front in one cut, so each segment costs the log of
the pieces held plus the pieces it overlaps.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from benches.analysis.network.streams import StreamSink

MASK = 0xFFFFFFFF
HALF = 1 << 31
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10  # TCP flags
MAX_HELD = 4 << 20  # out-of-order bytes held per direction
MAX_SEGMENTS = 4096  # out-of-order segments held per direction
BUDGET = 256 << 20  # out-of-order bytes held across all connections
BUDGET_PIECES = 1 << 19  # out-of-order pieces held across all connections (~200 bytes each)


@dataclass(slots=True)
class Budget:
    limit: int = BUDGET
    held: int = 0
    piece_limit: int = BUDGET_PIECES
    pieces: int = 0

    @classmethod
    def share(cls, parts: int) -> Budget:
        """One of ``parts`` equal shares of the whole budget (a shard's)."""
        return cls(BUDGET // parts, piece_limit=BUDGET_PIECES // parts)

    @property
    def spent(self) -> bool:
        return self.held > self.limit or self.pieces > self.piece_limit


class Reassembler:
    """One direction: feed it segments in capture order; it feeds ``sink`` in stream order."""

    __slots__ = ("sink", "budget", "started", "next_seq", "offset", "held", "starts",
                 "held_bytes", "gaps", "fin_at", "ended", "clear")  # fmt: skip

    def __init__(self, sink: StreamSink, budget: Budget) -> None:
        self.sink = sink
        self.budget = budget
        self.started = False  # the first sequence number is known
        self.next_seq = 0  # sequence number of the next byte expected
        self.offset = 0  # stream offset of the next byte expected
        self.held: dict[int, tuple[bytes, int, float]] = {}  # offset -> (data, frame, time)
        self.starts: list[int] = []  # the offsets of ``held``, sorted; held pieces never overlap
        self.held_bytes = 0
        self.gaps = 0
        self.fin_at: int | None = None  # stream offset where FIN ends the data
        self.ended = False  # close() was called: no more data will be placed
        self.clear = False  # started, nothing held, no FIN, not ended: the fast path applies

    def syn(self, seq: int) -> None:
        """A SYN from this side: its data starts at ``seq + 1``."""
        if not self.started:
            self.started = True
            self.next_seq = (seq + 1) & MASK
            self._settle()

    def segment(self, seq: int, data: bytes, frame: int, time: float) -> None:
        if self.clear and seq == self.next_seq:  # the next bytes, and nothing else pending
            self.sink.data(self.offset, data, frame, time)
            size = len(data)
            self.offset += size
            self.next_seq = (seq + size) & MASK
            return
        self._place(seq, data, frame, time)
        self._settle()

    def _place(self, seq: int, data: bytes, frame: int, time: float) -> None:
        if not self.started:
            self.started = True
            self.next_seq = seq
        rel = ((seq - self.next_seq + HALF) & MASK) - HALF
        if rel < 0:  # starts with bytes already delivered: keep the first copy
            old = data[:-rel] if len(data) > -rel else data
            self.sink.stray(self.offset + rel, old, frame)
            if len(data) <= -rel:
                return
            data, rel = data[-rel:], 0
        at = self.offset + rel
        if self.ended:
            self.sink.stray(at, data, frame)
            return
        if self.fin_at is not None and at + len(data) > self.fin_at:  # past the FIN
            cut = max(0, self.fin_at - at)
            self.sink.stray(at + cut, data[cut:], frame)
            data = data[:cut]
            if not data:
                return
        if rel == 0 and not self.starts:
            self._deliver(data, frame, time)
            return
        self._hold(at, data, frame, time)
        self._drain()
        if self.held_bytes > MAX_HELD or len(self.starts) > MAX_SEGMENTS or self.budget.spent:
            self.flush()

    def fin(self, seq_end: int) -> None:
        """A FIN whose sequence space (data included) ends at ``seq_end``."""
        if self.started and self.fin_at is None:
            self.fin_at = self.offset + (((seq_end - self.next_seq + HALF) & MASK) - HALF)
            self._settle()

    @property
    def finished(self) -> bool:
        """The FIN arrived and every byte before it was delivered."""
        return self.fin_at is not None and self.offset >= self.fin_at

    def flush(self) -> None:
        """Give up on the holes: deliver what is held, a gap before each run."""
        while self.starts:
            first = self.starts[0]
            if first > self.offset:
                self.gaps += 1
                self.next_seq = (self.next_seq + first - self.offset) & MASK
                self.offset = first
                self.sink.gap(first)
            self._drain()
        self._settle()

    def close(self, peer_ack: int | None) -> None:
        """The connection ended: flush, check the tail, close the sink."""
        if self.ended:
            return
        self.flush()
        if self.fin_at is not None and self.offset < self.fin_at:
            self.gaps += 1  # the FIN says bytes were sent that were never seen
        elif (
            self.started
            and peer_ack is not None
            # > 1: the peer may be acknowledging a FIN the capture did not see.
            and ((peer_ack - self.next_seq + HALF) & MASK) - HALF > 1
        ):
            self.gaps += 1
        self.ended = True
        self.clear = False
        self.sink.close()

    def _settle(self) -> None:
        self.clear = self.started and not self.starts and self.fin_at is None and not self.ended

    def _deliver(self, data: bytes, frame: int, time: float) -> None:
        self.sink.data(self.offset, data, frame, time)
        size = len(data)
        self.offset += size
        self.next_seq = (self.next_seq + size) & MASK

    def _hold(self, at: int, data: bytes, frame: int, time: float) -> None:
        """Keep ``data`` at ``at`` for later, minus whatever is already held there."""
        starts, held = self.starts, self.held
        end = at + len(data)
        index = max(bisect.bisect_right(starts, at) - 1, 0)
        position = at  # the next byte of ``data`` not yet kept or found already held
        differs = -1, -1  # the span of ``data`` that says something else than held pieces
        while index < len(starts) and starts[index] < end:
            start = starts[index]
            kept = held[start][0]
            stop = start + len(kept)
            if stop > position:
                if start > position:  # the part before this held piece is new
                    self._keep(position, data[position - at : start - at], frame, time)
                    index += 1  # it went in before this piece
                low, high = max(position, start), min(end, stop)
                if data[low - at : high - at] != kept[low - start : high - start]:
                    differs = (low if differs[0] < 0 else differs[0]), high
                position = high
            index += 1
        if position < end:
            self._keep(position, data[position - at :], frame, time)
        if differs[0] >= 0:  # first copy wins; search this one too
            self.sink.stray(differs[0], data[differs[0] - at : differs[1] - at], frame)

    def _keep(self, at: int, data: bytes, frame: int, time: float) -> None:
        bisect.insort(self.starts, at)
        self.held[at] = (data, frame, time)
        self.held_bytes += len(data)
        self.budget.held += len(data)
        self.budget.pieces += 1

    def _drain(self) -> None:
        starts, held, budget = self.starts, self.held, self.budget
        taken = 0
        while taken < len(starts) and starts[taken] <= self.offset:
            first = starts[taken]
            taken += 1
            data, frame, time = held.pop(first)
            self.held_bytes -= len(data)
            budget.held -= len(data)
            budget.pieces -= 1
            if first < self.offset:  # cannot happen while held pieces never overlap
                data = data[self.offset - first :]
            if data:
                self._deliver(data, frame, time)
        if taken:
            del starts[:taken]
