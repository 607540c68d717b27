"""Decoded bytes searched as they come: one search per decoding of a body or a stream.

A decoder (a body's layers, WebSocket's messages, a sniffed coding) hands on its
output in pieces of any size. :class:`DecodedSearch` searches them as one run, as the
stream's own search does: :data:`~benches.analysis.detection.datagrams.BATCH` bytes a
call (the scanner's cost is mostly per call, so small pieces are gathered; and it grows
faster than the bytes on some inputs, dense numbers, so a decoder's large piece is
cut). Between messages, the scanner's separator: an identifier split across fragments
of a message is found, and the digits ending one message never run on into the next
one's. Offsets count the decoded bytes (separators included) from the first.
"""

from __future__ import annotations

from benches.analysis.detection.datagrams import BATCH
from benches.analysis.detection.evidence import Found, Recent
from benches.analysis.detection.locations import PairingBudget
from benches.analysis.detection.scanner import Scanner


class DecodedSearch:
    __slots__ = ("scanner", "separator", "recent", "offset", "pending", "pending_bytes")

    def __init__(
        self, scanner: Scanner, pairing: PairingBudget | None = None, piece: int = BATCH
    ) -> None:
        """``piece``: the largest piece a decoder hands on (evidence is kept for it)."""
        self.scanner = scanner.stream(pairing)  # the flow's location work
        self.separator = scanner.separator
        self.recent = Recent(scanner.span, max(BATCH, piece))
        self.offset = 0  # decoded bytes so far
        self.pending: list[bytes] = []  # not yet fed to the scanner
        self.pending_bytes = 0

    def feed(self, chunk: bytes, frame: int) -> list[Found]:
        """Bytes of the message under way, from ``frame``: the hits settled so far."""
        if not chunk:
            return []
        self.recent.add(self.offset, chunk, frame)
        self.offset += len(chunk)
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes < BATCH:
            return []
        data = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        for start in range(0, len(data), BATCH):
            hits = self.scanner.feed(data[start : start + BATCH] if len(data) > BATCH else data)
            if hits:
                self.recent.found(hits)
        return self.recent.ready() if self.recent.waiting else []

    def end_message(self, frame: int) -> list[Found]:
        """The message ended: the next one is searched apart from it."""
        return self.feed(self.separator, frame)

    def finish(self) -> list[Found]:
        """The stream ended: every hit, with the bytes there are."""
        hits = self.scanner.finish(b"".join(self.pending))
        self.pending.clear()
        self.pending_bytes = 0
        if hits:
            self.recent.found(hits)
        return self.recent.drain()
