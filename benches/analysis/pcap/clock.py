"""Where the reading is: the capture (its index) and the frame being read.

The record walk sets ``frame`` as it hands packets on (when given a clock,
:mod:`~benches.analysis.pcap.recordwalk`); whatever keeps things in the order
they were read stamps them with it (the DNS answers:
:mod:`~benches.analysis.attribution.names`), so a parallel analysis can put
its processes' findings back in one process's order.
"""

from __future__ import annotations


class Clock:
    """Where the reading is: the capture (its index) and the frame being read."""

    __slots__ = ("capture", "frame")

    def __init__(self) -> None:
        self.capture = 0
        self.frame = 0
