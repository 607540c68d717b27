"""Where the location finder starts reading: the first decimal and the first long run of
digits in the data, found in one pass without a copy of it.

The finder (:mod:`~benches.analysis.detection.locations`) needs two places: the first
``digits`` digits followed by a point and two digits (a decimal whose integer part is
long enough), and the first ``run`` digits in a row (an E7, E6 or E5 integer). The
reference writes the data's digit skeleton (a ``bytes.translate``, a copy as long as
the data) and finds both needles in it; ``_needles.c`` finds the points with
``memchr`` and skips runs a window at a time, and makes no copy. Tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable

try:
    from benches.analysis.detection._needles import number_places as _compiled_places
except ImportError:  # not built: no compiler at install time
    _compiled_places = None

# ASCII digits to '0', the point and the minus sign as they are, the rest to a space.
SKELETON = bytes(
    ord("0") if chr(b).isdigit() and b < 128 else b if b in b".-" else ord(" ") for b in range(256)
)

Places = Callable[[bytes, int, int], tuple[int, int]]


def reference_places(data: bytes, digits: int, run: int) -> tuple[int, int]:
    """The first offset of ``digits`` digits, a point and two digits, and of ``run``
    digits in a row; -1 for none. In the digit skeleton, as the finder first did."""
    if digits < 1 or run < 1:
        raise ValueError("digits and run must be at least 1")
    skeleton = data.translate(SKELETON)
    return skeleton.find(b"0" * digits + b".00"), skeleton.find(b"0" * run)


number_places: Places = _compiled_places if _compiled_places is not None else reference_places
