"""How many decoded bytes a capture, and each of its flows, may cost: the decode budget.

Decompression multiplies bytes: a 100-byte brotli body can say 64 MiB of
zeros, and every decoded byte is then searched. So decoding is paid for out of
a budget: at most :data:`FLOW_DECODED` bytes per flow and, per capture file,
:data:`CAPTURE_DECODED` or :data:`CAPTURE_RATIO` times the file's size if that is
more (so the cost stays linear in the file, and a long legitimate capture is not
cut short by a constant), counted over every decoded layer (each message is capped on
its own too, :class:`~benches.analysis.protocols.http.HttpLimits`). What the
budget cannot pay for is not decoded, and the flow says so
(:data:`~benches.analysis.protocols.notes.BUDGET_SPENT`): the verdict is then
inconclusive, never pass. The bytes as sent are searched whatever the budget.

The inspector owns one :class:`DecodeBudget` per capture; each flow that decodes
something draws on it through a :class:`FlowBudget`. A worker reading one shard of
the flows has the whole capture budget: it reads a subset of the flows in the same
order, so it never runs out where one process reading every flow would not.
"""

from __future__ import annotations

MIB = 1 << 20
# A legitimate HTTP body rarely decodes past a few MiB (JSON, HTML, a protobuf); an
# image or a download is not content-coded. 64 MiB per flow is ten times a large
# page, and searching it costs about a second.
FLOW_DECODED = 64 * MIB
# A small capture holding many bombs: two flows' worth, about four seconds of
# decoding and searching (the detector's stream search runs at ~35 MB/s on zeros).
CAPTURE_DECODED = 128 * MIB
# A large capture: 16 decoded bytes per byte of file, more than HTTP compression
# gives on real traffic (text compresses 3-10x, and most bytes are TLS or media).
CAPTURE_RATIO = 16
# Codings removed from one body: real servers apply one, rarely two. More is an
# attacker hiding bytes under layers, each of which costs a decoder and a search.
MAX_CODINGS = 4


class DecodeBudget:
    """One capture's decoded bytes: what every flow of it spent, and what is left."""

    __slots__ = ("total", "per_flow", "spent")

    def __init__(self, total: int = CAPTURE_DECODED, per_flow: int = FLOW_DECODED) -> None:
        self.total = total
        self.per_flow = per_flow
        self.spent = 0

    @classmethod
    def for_capture(cls, size: int | None) -> DecodeBudget:
        """The budget of a capture file of ``size`` bytes (None: not known, a pipe)."""
        return cls(max(CAPTURE_DECODED, CAPTURE_RATIO * (size or 0)))

    def flow(self) -> FlowBudget:
        return FlowBudget(self)

    @property
    def left(self) -> int:
        return max(self.total - self.spent, 0)


class FlowBudget:
    """One flow's share of its capture's :class:`DecodeBudget`."""

    __slots__ = ("capture", "spent")

    def __init__(self, capture: DecodeBudget) -> None:
        self.capture = capture
        self.spent = 0

    @property
    def left(self) -> int:
        """Bytes this flow may still decode: the smaller of its own and the capture's."""
        return min(max(self.capture.per_flow - self.spent, 0), self.capture.left)

    def charge(self, size: int) -> None:
        self.spent += size
        self.capture.spent += size

    def which(self) -> str:
        """The budget that binds now, for people: the flow's or the capture's."""
        own = self.capture.per_flow - self.spent
        if own <= self.capture.left:
            return f"the flow's budget of {_mib(self.capture.per_flow)} decoded bytes"
        return f"the capture's budget of {_mib(self.capture.total)} decoded bytes"


def _mib(size: int) -> str:
    return f"{size / MIB:.4g} MiB" if size >= MIB else f"{size} bytes"
