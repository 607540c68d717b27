"""The sieve's one-pass needle search (detection/_needles.c) against its pure-Python
reference, one bytes.find per needle: the same offsets, whatever the data. The C part
must be built for these tests (gcc and python3-dev), as the record walk's must."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.needles import SHORTEST, NeedleSet, aligned_windows

BUILD_HINT = "detection/_needles.c is not built: install gcc and python3-dev, then pip install -e ."


def compiled(needles: list[bytes]) -> NeedleSet:
    found = NeedleSet(needles)
    if found.compiled is None:
        pytest.fail(BUILD_HINT)
    return found


@settings(max_examples=300, deadline=None)
@given(
    needles=st.lists(st.binary(min_size=4, max_size=4), min_size=1, max_size=30),
    data=st.binary(max_size=600),
    stride=st.integers(1, 300),
    plant=st.integers(0, 5),
)
def test_the_c_search_and_the_reference_agree(
    needles: list[bytes], data: bytes, stride: int, plant: int
) -> None:
    rng = random.Random(len(data))
    pieces = [data]
    for _ in range(plant):  # needles in the data, some overlapping the data's bytes
        at = rng.randrange(len(pieces[-1]) + 1)
        pieces[-1] = pieces[-1][:at] + rng.choice(needles) + pieces[-1][at:]
    data = pieces[-1]
    search = compiled(needles)
    assert search.find(data, stride) == search.reference(data, stride)


def test_overlapping_and_repeated_needles_at_offsets_0_mod_4() -> None:
    search = compiled([b"aaaa", b"aaab"])
    data = b"aaaaaaaab" + b"x" * 11 + b"aaab" + b"x" * 5 + b"aaab"
    assert search.find(data, 1) == [0, 4, 20]  # not 1, 2, 3, 5 nor 29
    assert search.find(data, 4) == [0, 4, 20]
    assert search.find(data, 5) == [0, 20]  # 4 is within the stride after 0
    assert search.find(data, 21) == [0]  # 24, the next offset 0 mod 4 after 0 + 21, holds none
    for stride in (1, 4, 5, 21):
        assert search.find(data, stride) == search.reference(data, stride)


def test_a_literal_is_found_wherever_it_starts_by_its_aligned_windows() -> None:
    literal = bytes.fromhex("00ff81c2d3e4f50100")
    search = compiled(aligned_windows(literal))
    assert not any(w.count(0) for w in aligned_windows(literal))  # the run avoiding zeros
    for shift in range(64):
        data = bytes(shift) + literal + bytes(70)
        found = search.find(data, 1)
        assert found and all(shift <= at <= shift + len(literal) - 4 for at in found)
        assert found == search.reference(data, 1)


def test_a_literal_too_short_for_the_alignment_is_refused() -> None:
    with pytest.raises(ValueError):
        aligned_windows(b"\x01" * (SHORTEST - 1))


def test_a_hash_collision_is_no_match() -> None:
    search = compiled([b"\x01\x02\x03\x04"])
    data = random.Random(5).randbytes(1 << 20)
    assert search.find(data, 1) == search.reference(data, 1)


def test_no_needles_find_nothing_and_bad_needles_are_refused() -> None:
    assert NeedleSet([]).find(b"abcd", 1) == []
    with pytest.raises(ValueError):
        NeedleSet([b"abc"])
