"""Placing packets on a cycle's timeline: "2.1 s after unlock".

A cycle records its events with wall-clock times; the capture stamps every
packet with the same clock (the gateway is the bench host). A finding names
its packet number, so its place on the timeline is the last event at or
before that packet's timestamp (read from the capture by
:func:`benches.analysis.pcap.timestamps.packet_times`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# Events that only mark the capture window or the bench's own probes: a
# finding is never "after canary", it is after what the phone was doing.
BOOKKEEPING_EVENTS = frozenset(
    {"capture_started", "capture_stopped", "canary", "settle_done", "idle_done", "interrupted"}
)


class TimedEvent(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def wall(self) -> float: ...


def place(time: float, timeline: Sequence[TimedEvent]) -> str | None:
    """ "2.1 s after unlock", from the latest phone event at or before `time`."""
    events = [event for event in timeline if event.name not in BOOKKEEPING_EVENTS]
    before = [event for event in events if event.wall <= time]
    if before:
        anchor = max(before, key=lambda event: event.wall)
        return f"{time - anchor.wall:.1f} s after {_spoken(anchor.name)}"
    if events:
        first = min(events, key=lambda event: event.wall)
        return f"{first.wall - time:.1f} s before {_spoken(first.name)}"
    return None


# Events named after the adb state the bench saw: a release manager reads "1.3 s after
# adb came online", not "after device".
_SPOKEN = {"device": "adb came online", "offline": "adb went offline"}


def _spoken(name: str) -> str:
    return _SPOKEN.get(name) or name.replace("_", " ")
