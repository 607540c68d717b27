"""Placing packets on a cycle's timeline: "2.1 s after unlock".

A cycle records its events with wall-clock times; the capture stamps every
packet with the same clock (the gateway is the bench host). A finding names
its packet number, so its place on the timeline is the last event at or
before that packet's timestamp.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

from benches.analysis.pcap.files import CaptureError, read_packets

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


def packet_times(pcap: Path, frames: Collection[int]) -> dict[int, float]:
    """Capture timestamps of the given frame numbers (1-based), read in one streaming pass."""
    wanted = set(frames)
    times: dict[int, float] = {}
    if not wanted:
        return times
    last = max(wanted)
    try:
        with read_packets(pcap) as packets:
            for frame, time, _ in packets:
                if frame in wanted:
                    times[frame] = time
                if frame >= last:
                    break
    except CaptureError:
        pass  # the verdict already says the pcap is unreadable; no placement then
    return times


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
