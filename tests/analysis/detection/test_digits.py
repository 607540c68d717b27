"""The location finder's first places (detection/digits.py): the compiled one-pass search
(_needles.c) against the reference, the digit skeleton and two finds: the same offsets,
whatever the data."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection import digits
from benches.analysis.detection.digits import reference_places

BUILD_HINT = "detection/_needles.c is not built: install gcc and python3-dev, then pip install -e ."

# Digits, points and signs most of all: runs and decimals of every length, cut anywhere.
TEXTY = st.lists(st.sampled_from(b"0123456789" * 3 + b"..-a \x00\xff/:"), max_size=400).map(bytes)


def compiled() -> digits.Places:
    if digits._compiled_places is None:
        pytest.fail(BUILD_HINT)
    return digits._compiled_places


@settings(max_examples=1000, deadline=None)
@given(data=TEXTY | st.binary(max_size=300), fewest=st.integers(1, 4), run=st.integers(1, 10))
def test_the_c_search_and_the_reference_agree(data: bytes, fewest: int, run: int) -> None:
    assert compiled()(data, fewest, run) == reference_places(data, fewest, run)


@pytest.mark.parametrize(
    ("data", "places"),
    [
        (b"", (-1, -1)),
        (b"60.1", (-1, -1)),  # one decimal only: no needle
        (b"60.17", (0, -1)),
        (b"x160.17,1234567", (2, 8)),  # the needle 00.00 starts at 60.17
        (b"1.23 60.17", (5, -1)),  # 1.23 has one digit before the point, 60.17 two
        (b"123456 1234567", (-1, 7)),
        (b"12345678", (-1, 0)),
        (b"6.0.17 60.1x 060.17", (14, -1)),
    ],
)
def test_places_by_hand(data: bytes, places: tuple[int, int]) -> None:
    assert compiled()(data, 2, 7) == places == reference_places(data, 2, 7)


def test_long_random_text_agrees() -> None:
    rng = random.Random(7)
    alphabet = b"0123456789.-, abc"
    data = bytes(rng.choice(alphabet) for _ in range(1 << 16))
    for fewest in (1, 2, 3):
        for run in (5, 7, 8):
            assert compiled()(data, fewest, run) == reference_places(data, fewest, run)


def test_bad_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        compiled()(b"60.17", 0, 7)
    with pytest.raises(ValueError):
        reference_places(b"60.17", 2, 0)
