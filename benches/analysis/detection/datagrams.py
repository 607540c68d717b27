"""Datagrams searched many at a time, each still judged on its own.

A scanner call costs about as much as searching a kilobyte, and most
datagrams are smaller than that (a DNS flow has one each way): datagrams,
of any flows, are gathered until :data:`BATCH` bytes, joined by a separator,
and searched in one call. Only the datagrams that call finds something in are
searched again, alone, and that second search is the one that counts (its
hits, offsets and evidence).

The separator is the scanner's: bytes no hit can contain (a run of newlines
longer than any a hit holds), so none spans two datagrams, and which a
boundary check reads as it reads the end of the data (a newline is no digit,
letter or escape). A hit in a datagram alone is therefore always found in the
batch; the batch only decides which datagrams are worth the second look.
"""

from __future__ import annotations

import bisect
from typing import Generic, TypeVar

from benches.analysis.detection.scanner import Scanner

BATCH = 16 * 1024

Owner = TypeVar("Owner")
# (whose it is, its offset in that stream, its bytes, its frame)
Datagram = tuple[Owner, int, bytes, int]


class Datagrams(Generic[Owner]):
    __slots__ = ("scanner", "separator", "pending", "size")

    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner
        self.separator = scanner.separator
        self.pending: list[Datagram[Owner]] = []
        self.size = 0

    def add(self, owner: Owner, offset: int, chunk: bytes, frame: int) -> bool:
        """Keep a datagram for the next search; True when it is time to search."""
        self.pending.append((owner, offset, chunk, frame))
        self.size += len(chunk) + len(self.separator)
        return self.size >= BATCH

    def take(self) -> list[Datagram[Owner]]:
        """The pending datagrams that may hold a hit (to be searched alone); none pend after."""
        pending = self.pending
        self.pending = []
        self.size = 0
        if len(pending) < 2:
            return pending
        starts = []
        position = 0
        for _, _, chunk, _ in pending:
            starts.append(position)
            position += len(chunk) + len(self.separator)
        hits = self.scanner.scan(self.separator.join(chunk for _, _, chunk, _ in pending))
        chosen = sorted({bisect.bisect_right(starts, hit.start) - 1 for hit in hits})
        return [pending[index] for index in chosen]
