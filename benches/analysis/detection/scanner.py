"""What searches bytes for identifiers, as the inspection needs it.

:class:`benches.analysis.detection.detector.Detector` is one: every form of every
identifier in one automaton. Anything with the same three calls will do.
"""

from __future__ import annotations

from typing import Protocol

from benches.analysis.detection.identifiers import Hit
from benches.analysis.detection.locations import PairingBudget


class StreamScanner(Protocol):
    """Searches one stream chunk by chunk (``detector.DetectorStreamScanner``)."""

    def feed(self, chunk: bytes) -> list[Hit]:
        """Hits the chunk settled, at offsets counted from the first byte fed."""

    def finish(self, chunk: bytes = b"") -> list[Hit]:
        """Hits of a last ``chunk`` (offsets as for ``feed``) and those the end of the
        stream settled."""


class Scanner(Protocol):
    """What searches bytes for identifiers (``detector.Detector``)."""

    @property
    def span(self) -> int:
        """The longest a hit can be."""

    @property
    def shortest(self) -> int:
        """The shortest a hit can be: fewer bytes, alone, cannot hold one."""

    @property
    def separator(self) -> bytes:
        """Bytes no hit can hold, read by a boundary check as the end of the data."""

    def stream(self, budget: PairingBudget | None = None) -> StreamScanner:
        """A stream's search; ``budget`` is its flow's location work, shared by the flow's
        searches (None: unbounded)."""

    def scan(self, data: bytes, budget: PairingBudget | None = None) -> list[Hit]: ...
