"""Fuzz for time: hostile captures whose cost grows faster than their size fail here.

Each shape of tests/support/hostile_streams.py is analysed at ``n`` and at
``GROWTH * n`` units of hostility, and the work done (lines of the bench's code
executed, tests/support/workcount.py: deterministic, whatever the machine's
load) may grow at most ``LIMIT`` times. Linear work grows about ``GROWTH``
times; a quadratic path grows ``GROWTH ** 2`` times, and is stopped as soon as
it passes the limit, so a regression fails fast instead of running long.

Each shape must also end as a pass may not: the leak found, or the flow or
capture saying what could not be read (a gap, unreassembled fragments).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.network import tcp
from benches.analysis.results import Analysis
from tests.support import hostile_streams
from tests.support.hostile_streams import SHAPES, Shape
from tests.support.pcaps import make_rack
from tests.support.workcount import count_lines

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
GROWTH = 4
LIMIT = 8  # linear: about GROWTH; quadratic: about GROWTH ** 2
SMALL = {  # n for each shape: big enough for a quadratic term to show at GROWTH * n
    "reverse-segments": 600,
    "stray-copies": 600,
    "scattered-copies": 600,
    "held-copies": 600,
    "fragments": 500,
    "empty-records": 600,
    "tiny-records": 600,
}


def analysed(path: Path) -> Analysis:
    return analyze([path], RACK, GEO)


def write(tmp_path: Path, shape: Shape, n: int) -> Path:
    return hostile_streams.write(tmp_path / f"{shape.name}-{n}.pcap", shape.build(n))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_work_grows_no_faster_than_the_hostile_input(tmp_path: Path, shape: Shape) -> None:
    n = SMALL[shape.name]
    small_path, big_path = write(tmp_path, shape, n), write(tmp_path, shape, GROWTH * n)
    analysed(small_path)  # imports and first-call caches out of the way
    small = count_lines(lambda: analysed(small_path))
    big = count_lines(lambda: analysed(big_path), limit=LIMIT * small.lines)
    growth = big.lines / small.lines
    assert not big.stopped, (
        f"{shape.name}: {GROWTH}x the {shape.unit} took more than {LIMIT}x the work "
        f"({small.lines:,} lines at {n}, stopped past {big.lines:,})"
    )
    assert growth <= LIMIT, f"{shape.name}: work grew {growth:.1f}x for {GROWTH}x the input"


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_a_hostile_capture_shows_its_leak_or_what_was_not_read(
    tmp_path: Path, shape: Shape
) -> None:
    analysis = analysed(write(tmp_path, shape, SMALL[shape.name]))
    leaked = any(m.identifier == "imei" for m in analysis.matches)
    unread = any(f.gaps for f in analysis.flows) or any(c.fragments for c in analysis.captures)
    assert leaked or unread


def test_a_leak_sent_backwards_past_the_piece_limit_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the limit of pieces held, the hole is given up (a gap) and each earlier byte
    is a stray copy of its own: searched with the copies after it, the IMEI spelled
    backwards one byte at a time is still found."""
    monkeypatch.setattr(tcp, "MAX_SEGMENTS", 64)
    shape = next(s for s in SHAPES if s.name == "reverse-segments")
    analysis = analysed(write(tmp_path, shape, 600))
    assert [f.gaps for f in analysis.flows] == [1]
    assert [m.identifier for m in analysis.matches] == ["imei"]
