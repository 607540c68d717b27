"""Many short needles found in one pass over the data: where the sieve must look.

The sieve (:mod:`~benches.analysis.detection.detector`) marks the data around
every anchor. A binary number's anchors are 4-byte windows, about twenty for a
rack, and ``bytes.find`` once per needle would cost twenty passes over every
byte searched. ``_needles.c`` makes one: a hash filter per offset, a sorted
table where it says so. Without a C compiler the pure-Python loop below (one
find per needle, the reference the tests compare it with) is used.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterable

try:
    from benches.analysis.detection._needles import find as _compiled_find
except ImportError:  # not built: no compiler at install time
    _compiled_find = None

CompiledFind = Callable[[bytes, bytes, bytes, int], list[int]]

WIDTH = 4  # bytes a needle has
FILTER_BITS = 1 << 16


def _hash(word: int) -> int:
    return (word * 2654435761 & 0xFFFFFFFF) >> 16


class NeedleSet:
    """4-byte needles, found in one pass when the C part is built."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        self.needles = sorted(set(needles))
        if any(len(n) != WIDTH for n in self.needles):
            raise ValueError(f"needles are {WIDTH} bytes")
        words = sorted(int.from_bytes(n, sys.byteorder) for n in self.needles)
        self.table = array("I", words).tobytes() if array("I").itemsize == 4 else b""
        bits = bytearray(FILTER_BITS // 8)
        for word in words:
            bits[_hash(word) >> 3] |= 1 << (_hash(word) & 7)
        self.filter = bytes(bits)
        self.compiled: CompiledFind | None = _compiled_find if self.table else None

    def find(self, data: bytes, stride: int) -> list[int]:
        """Offsets of needles in ``data``; after each, ``stride - 1`` more are skipped."""
        if not self.needles:
            return []
        if self.compiled is not None:
            return self.compiled(data, self.filter, self.table, stride)
        return self.reference(data, stride)

    def reference(self, data: bytes, stride: int) -> list[int]:
        """The same offsets, one ``bytes.find`` pass per needle."""
        starts: list[int] = []
        for needle in self.needles:
            position = data.find(needle)
            while position >= 0:
                starts.append(position)
                position = data.find(needle, position + 1)
        found: list[int] = []
        for position in sorted(set(starts)):
            if not found or position >= found[-1] + stride:
                found.append(position)
        return found
