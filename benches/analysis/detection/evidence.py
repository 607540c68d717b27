"""The last bytes of a stream, kept for what a match needs: its frame and its evidence.

A match found in a stream may begin in an earlier packet than the one that
completed it, and its evidence (the bytes around it, masked) needs bytes that
may not have arrived yet. :class:`Recent` keeps references to the chunks that
cover the last ``keep`` bytes before the newest one (nothing is copied), and
holds each hit until ``span`` bytes follow it (the evidence context, plus room
to swallow an identifier cut by its edge), or the stream ends or breaks.
"""

from __future__ import annotations

from collections import deque

from benches.analysis.detection.identifiers import Hit
from benches.analysis.detection.masks import EVIDENCE_CONTEXT, masked_evidence

# (hit, frame where it begins, masked evidence)
Found = tuple[Hit, int, str]


class Recent:
    __slots__ = ("span", "keep", "chunks", "end", "waiting", "hits")

    def __init__(self, longest: int, batch: int = 0) -> None:
        """``longest``: the longest a hit can be; ``batch``: how many bytes the scanner may
        be behind the stream."""
        self.span = EVIDENCE_CONTEXT + longest
        # A scanner reports a hit once about ``longest`` bytes follow it; then it waits
        # for ``span`` more. Four times over is room for both, and for the evidence.
        self.keep = batch + 4 * self.span + 1024
        self.chunks: deque[tuple[int, bytes, int]] = deque()  # (offset, chunk, frame)
        self.end = 0  # stream offset just past the last chunk
        self.waiting: list[Hit] = []  # hits whose evidence is not complete yet
        self.hits: list[Hit] = []  # recent hits, to mask them in each other's evidence

    def add(self, offset: int, chunk: bytes, frame: int) -> None:
        chunks = self.chunks
        chunks.append((offset, chunk, frame))
        self.end = offset + len(chunk)
        # One out per one in keeps the window bounded (each chunk holds at least a byte).
        if len(chunks) > 2 and chunks[1][0] <= offset - self.keep:
            chunks.popleft()

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
        return found

    def frame_at(self, offset: int) -> int:
        for start, _, frame in reversed(self.chunks):
            if start <= offset:
                return frame
        return self.chunks[0][2] if self.chunks else 0

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
        parts = []
        first = None
        for offset, chunk, _ in self.chunks:
            stop = offset + len(chunk)
            if stop <= start or offset >= end:
                continue
            low = max(offset, start)
            first = low if first is None else first
            parts.append(chunk[low - offset : min(stop, end) - offset])
        return (start if first is None else first), b"".join(parts)
