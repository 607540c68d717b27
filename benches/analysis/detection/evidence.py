"""The last bytes of a stream, kept for what a match needs: its frame and its evidence.

A match found in a stream may begin in an earlier packet than the one that
completed it, and its evidence (the bytes around it, masked) needs bytes that
may not have arrived yet. :class:`Recent` keeps references to the chunks that
cover the last ``keep`` bytes before the newest one (nothing is copied), and
holds each hit until ``span`` bytes follow it (the evidence context, plus room
to swallow an identifier cut by its edge), or the stream ends or breaks.

The chunks are one contiguous run, in a list searched by bisection: a stream of
one-byte segments puts thousands of chunks in the window, and every stray copy
asks for the bytes around it (:meth:`Recent.kept`), so a walk of the window per
question would make such a stream quadratic.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter

from benches.analysis.detection.identifiers import Hit
from benches.analysis.detection.masks import EVIDENCE_CONTEXT, masked_evidence

# (hit, frame where it begins, masked evidence)
Found = tuple[Hit, int, str]
_offset = itemgetter(0)


class Recent:
    __slots__ = ("span", "keep", "chunks", "head", "end", "waiting", "hits")

    def __init__(self, longest: int, batch: int = 0) -> None:
        """``longest``: the longest a hit can be; ``batch``: how many bytes the scanner may
        be behind the stream."""
        self.span = EVIDENCE_CONTEXT + longest
        # A scanner reports a hit once about ``longest`` bytes follow it; then it waits
        # for ``span`` more. Four times over is room for both, and for the evidence.
        self.keep = batch + 4 * self.span + 1024
        self.chunks: list[tuple[int, bytes, int]] = []  # (offset, chunk, frame), in order
        self.head = 0  # chunks before this index have left the window
        self.end = 0  # stream offset just past the last chunk
        self.waiting: list[Hit] = []  # hits whose evidence is not complete yet
        self.hits: list[Hit] = []  # recent hits, to mask them in each other's evidence

    def add(self, offset: int, chunk: bytes, frame: int) -> None:
        chunks = self.chunks
        chunks.append((offset, chunk, frame))
        self.end = offset + len(chunk)
        # One out per one in keeps the window bounded (each chunk holds at least a byte).
        head = self.head
        if len(chunks) - head > 2 and chunks[head + 1][0] <= offset - self.keep:
            head += 1
            if 2 * head >= len(chunks):  # as many gone as kept: cut them (amortised O(1))
                del chunks[:head]
                head = 0
            self.head = head

    def found(self, hits: list[Hit]) -> None:
        self.waiting.extend(hits)
        self.hits.extend(hits)

    def ready(self) -> list[Found]:
        """Hits whose evidence is complete, with it."""
        limit = self.end - self.span
        done = [h for h in self.waiting if h.end <= limit]
        if not done:
            return []
        self.waiting = [h for h in self.waiting if h.end > limit]
        found = [self._resolve(h) for h in done]
        self.hits = [h for h in self.hits if h.end > self.end - self.keep]
        return found

    def drain(self) -> list[Found]:
        """The stream ended or broke: every waiting hit with the bytes there are; forget."""
        found = [self._resolve(h) for h in self.waiting]
        self.waiting = []
        self.hits = []
        self.chunks.clear()
        self.head = 0
        return found

    def frame_at(self, offset: int) -> int:
        """The frame of the chunk that holds ``offset`` (the first one kept, before it)."""
        chunks, head = self.chunks, self.head
        if head >= len(chunks):
            return 0
        index = bisect_right(chunks, offset, lo=head, key=_offset) - 1
        return chunks[max(index, head)][2]

    def _resolve(self, hit: Hit) -> Found:
        base, data = self.kept(hit.start - self.span, hit.end + self.span)
        near = [
            Hit(h.start - base, h.end - base, h.pattern)
            for h in self.hits
            if h.start >= base and h.end <= base + len(data)
        ]
        local = Hit(hit.start - base, hit.end - base, hit.pattern)
        return hit, self.frame_at(hit.start), masked_evidence(data, local, near)

    def kept(self, start: int, end: int) -> tuple[int, bytes]:
        """(offset of the first byte kept, the kept bytes) of ``[start, end)``."""
        chunks, head = self.chunks, self.head
        low = max(bisect_right(chunks, start, lo=head, key=_offset) - 1, head)
        high = bisect_right(chunks, end - 1, lo=low, key=_offset)
        if low >= high:
            return start, b""
        first_offset, first_chunk, _ = chunks[low]
        if first_offset + len(first_chunk) <= start:  # ends before the range: skip it
            low += 1
            if low >= high:
                return start, b""
            first_offset, first_chunk, _ = chunks[low]
        last_offset, last_chunk, _ = chunks[high - 1]
        if low == high - 1:
            begin = max(first_offset, start)
            return begin, first_chunk[begin - first_offset : end - first_offset]
        begin = max(first_offset, start)
        parts = [first_chunk[begin - first_offset :]]
        parts += [chunk for _, chunk, _ in chunks[low + 1 : high - 1]]
        parts.append(last_chunk[: end - last_offset])
        return begin, b"".join(parts)
