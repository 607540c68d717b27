"""What the pcap and pcapng readers hand on: records, and the counts of one read."""

from __future__ import annotations

from dataclasses import dataclass

# (frame number, time, link type, buffer, start, end): the frame is buffer[start:end].
Record = tuple[int, float, int, bytes, int, int]


@dataclass(slots=True)
class ReadStats:
    records: int = 0  # packet records seen, readable or not
    unreadable: int = 0  # records that could not be read (skipped)
    truncated: int = 0  # records captured shorter than they were on the wire (snaplen)
    stopped: str | None = None  # why reading stopped before the end of the file
