"""Needles of character classes found in the data without writing its skeleton.

The sieve (:mod:`~benches.analysis.detection.detector`) looks for runs of classes (ten
text characters in a row, UTF-16 text) in the data's skeleton, the data translated
byte by byte to its classes. The reference below writes that skeleton (a copy as long
as the data) and finds the needle in it; ``_needles.c`` compares the classes in place,
from the end of a window, and skips past a byte whose class the needle cannot hold
there. Tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable

try:
    from benches.analysis.detection._needles import class_marks as _compiled_marks
except ImportError:  # not built: no compiler at install time
    _compiled_marks = None

ClassMarks = Callable[[bytes, bytes, bytes, int], list[int]]


def reference_marks(data: bytes, classes: bytes, needle: bytes, stride: int) -> list[int]:
    """Where ``data.translate(classes)`` holds ``needle``: the first place, then the first
    at least ``stride`` further on, and so on."""
    if len(classes) != 256 or not needle or stride < 1:
        raise ValueError("classes must be 256 bytes, the needle one or more, the stride >= 1")
    skeleton = data.translate(classes)
    found: list[int] = []
    position = skeleton.find(needle)
    while position >= 0:
        found.append(position)
        position = skeleton.find(needle, position + stride)
    return found


class_marks: ClassMarks = _compiled_marks if _compiled_marks is not None else reference_marks
