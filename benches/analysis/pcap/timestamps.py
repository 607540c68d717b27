"""The capture timestamps of given frames, for placing findings on a cycle's timeline.

A finding names its packet by frame number; where that packet falls among the
cycle's events (:func:`benches.cycles.timeline.place`) needs its timestamp.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from benches.analysis.pcap.files import CaptureError, read_packets


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
