"""Decoded messages searched as their bytes come: one search per decoding of a stream.

A decoder (WebSocket's) hands on the bytes of one message after another, in pieces
of any size. :class:`DecodedSearch` searches them as one run, as the stream's own
search does (gathered to :data:`~benches.analysis.detection.datagrams.BATCH` bytes a
call: the scanner's cost is mostly per call, and a message of a few bytes is a small
call), with the scanner's separator between messages: an identifier split across
fragments of a message is found, and the digits ending one message never run on into
the next one's. Offsets count the decoded bytes (separators included) from the first.
"""

from __future__ import annotations

from benches.analysis.detection.datagrams import BATCH
from benches.analysis.detection.evidence import Found, Recent
from benches.analysis.detection.locations import PairingBudget
from benches.analysis.detection.scanner import Scanner


class DecodedSearch:
    __slots__ = ("scanner", "separator", "recent", "offset", "pending", "pending_bytes")

    def __init__(self, scanner: Scanner, pairing: PairingBudget | None = None) -> None:
        self.scanner = scanner.stream(pairing)  # the flow's location work
        self.separator = scanner.separator
        self.recent = Recent(scanner.span, BATCH)
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
        hits = self.scanner.feed(b"".join(self.pending))
        self.pending.clear()
        self.pending_bytes = 0
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
