"""The sieve's class needles (detection/skeletons.py): the compiled search of the classes
in place (_needles.c) against the reference, the translated data and bytes.find: the
same offsets, whatever the data, the classes and the needle."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection import skeletons
from benches.analysis.detection.detector import SKELETON, STRIDE, Detector
from benches.analysis.detection.skeletons import reference_marks
from benches.inventory.loader import load_rack
from tests.support.paths import REPO

BUILD_HINT = "detection/_needles.c is not built: install gcc and python3-dev, then pip install -e ."

# Text, NULs and the rest: runs of every class, cut anywhere.
MIXED = st.lists(st.sampled_from(b"aZ9+ -\x00\x00.,{\xff"), max_size=500).map(bytes)
NEEDLE = st.lists(st.sampled_from(b"x0."), min_size=1, max_size=12).map(bytes)


def compiled() -> skeletons.ClassMarks:
    if skeletons._compiled_marks is None:
        pytest.fail(BUILD_HINT)
    return skeletons._compiled_marks


@settings(max_examples=1500, deadline=None)
@given(data=MIXED | st.binary(max_size=300), needle=NEEDLE, stride=st.integers(1, 40))
def test_the_c_search_and_the_reference_agree(data: bytes, needle: bytes, stride: int) -> None:
    assert compiled()(data, SKELETON, needle, stride) == reference_marks(
        data, SKELETON, needle, stride
    )


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=300),
    table=st.binary(min_size=256, max_size=256),
    needle=st.binary(min_size=1, max_size=6),
    stride=st.integers(1, 10),
)
def test_any_classes_agree(data: bytes, table: bytes, needle: bytes, stride: int) -> None:
    # A needle made of the data's own classes, so that it is found now and then.
    skeleton = data.translate(table)
    if skeleton and needle[0] % 2:
        at = needle[0] % len(skeleton)
        needle = skeleton[at : at + len(needle)] or needle
    assert compiled()(data, table, needle, stride) == reference_marks(data, table, needle, stride)


def test_the_racks_anchors_agree_on_text_and_random_bytes() -> None:
    detector = Detector(load_rack(REPO / "benchmarks" / "rack20.yaml"))
    rng = random.Random(3)
    text = bytes(rng.choice(b'abcdef0123456789 :,."{}\x00') for _ in range(1 << 16))
    for data in (text, rng.randbytes(1 << 16)):
        for anchor in detector.matcher.sieve.anchors:
            if not anchor.raw:
                found = compiled()(data, SKELETON, anchor.needle, STRIDE)
                assert found == reference_marks(data, SKELETON, anchor.needle, STRIDE)


def test_bad_arguments_are_refused() -> None:
    for search in (compiled(), reference_marks):
        with pytest.raises(ValueError):
            search(b"abc", SKELETON[:255], b"x", 1)
        with pytest.raises(ValueError):
            search(b"abc", SKELETON, b"", 1)
        with pytest.raises(ValueError):
            search(b"abc", SKELETON, b"x", 0)
