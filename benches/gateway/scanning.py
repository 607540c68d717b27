"""What searches bytes for identifiers, as the inspection needs it.

:class:`benches.gateway.detector.Detector` is one: every form of every
identifier in one automaton. Anything with the same three calls will do.
"""

from __future__ import annotations

from typing import Protocol

from benches.gateway.identifiers import Hit


class StreamScanner(Protocol):
    """Searches one stream chunk by chunk (:class:`benches.gateway.detector.StreamScanner`)."""

    def feed(self, chunk: bytes) -> list[Hit]:
        """Hits the chunk settled, at offsets counted from the first byte fed."""

    def finish(self) -> list[Hit]:
        """Hits the end of the stream settled."""


class Scanner(Protocol):
    """What searches bytes for identifiers (:class:`benches.gateway.detector.Detector`)."""

    @property
    def span(self) -> int:
        """The longest a hit can be."""

    def stream(self) -> StreamScanner: ...

    def scan(self, data: bytes) -> list[Hit]: ...
