"""Many short needles found in one pass over the data: where the sieve must look.

The sieve (:mod:`~benches.analysis.detection.detector`) marks the data around
every anchor. A binary number's anchors are 4-byte windows, a thousand or so for
a rack, and ``bytes.find`` once per needle would cost a pass over every byte
searched per needle. ``_needles.c`` makes one, and looks only at offsets 0 mod
:data:`ALIGN`: a hash filter there, a sorted table where it says so. A literal is
found wherever it starts when its :func:`aligned_windows` are the needles. Without
a C compiler the pure-Python loop below (one find per needle, the reference the
tests compare it with) is used.
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
ALIGN = 4  # needles are looked for at offsets 0 mod ALIGN only
FILTER_BITS = 1 << 16
SHORTEST = WIDTH + ALIGN - 1  # a literal this long has ALIGN windows in a row


def aligned_windows(literal: bytes) -> list[bytes]:
    """ALIGN consecutive windows of ``literal``: wherever it starts in the data, one of them
    starts at an offset 0 mod ALIGN. Of the possible runs, the one with fewest zero bytes
    (zeros are common in real data, and each find costs an automaton run around it)."""
    if len(literal) < SHORTEST:
        raise ValueError(f"a literal of {len(literal)} bytes is shorter than {SHORTEST}")
    runs = [
        [literal[start + i : start + i + WIDTH] for i in range(ALIGN)]
        for start in range(len(literal) - SHORTEST + 1)
    ]
    return min(runs, key=lambda run: sum(window.count(0) for window in run))


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
        """Offsets 0 mod ALIGN of needles in ``data``; after each, ``stride - 1`` more are
        skipped."""
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
                if position % ALIGN == 0:
                    starts.append(position)
                position = data.find(needle, position + 1)
        found: list[int] = []
        for position in sorted(set(starts)):
            if not found or position >= found[-1] + stride:
                found.append(position)
        return found
