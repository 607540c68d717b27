"""Recent, the window of a stream's last bytes: the bytes and frames it gives back, and
what a question to it costs, however many chunks the window holds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.evidence import Recent
from tests.support.workcount import count_lines


def filled(sizes: list[int], start: int = 0, longest: int = 20) -> tuple[Recent, bytes]:
    """A Recent fed chunks of ``sizes`` from ``start`` on; frame = the chunk's number."""
    recent = Recent(longest, batch=64)
    data = bytes(i % 251 for i in range(sum(sizes)))
    offset = 0
    for frame, size in enumerate(sizes, 1):
        recent.add(start + offset, data[offset : offset + size], frame)
        offset += size
    return recent, data


def naive_kept(chunks: list[tuple[int, bytes, int]], start: int, end: int) -> tuple[int, bytes]:
    parts, first = [], None
    for offset, chunk, _ in chunks:
        stop = offset + len(chunk)
        if stop <= start or offset >= end:
            continue
        low = max(offset, start)
        first = low if first is None else first
        parts.append(chunk[low - offset : min(stop, end) - offset])
    return (start if first is None else first), b"".join(parts)


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=120),
    start=st.integers(0, 1000),
    span=st.tuples(st.integers(-50, 4000), st.integers(0, 600)),
)
def test_kept_gives_the_bytes_a_walk_of_the_window_gives(
    sizes: list[int], start: int, span: tuple[int, int]
) -> None:
    recent, _ = filled(sizes, start)
    live = recent.chunks[recent.head :]
    low = start + span[0]
    assert recent.kept(low, low + span[1]) == naive_kept(live, low, low + span[1])
    for probe in (low, start, start + sum(sizes) - 1):
        later = [frame for offset, _, frame in live if offset <= probe]
        assert recent.frame_at(probe) == (later[-1] if later else live[0][2])


def test_the_window_keeps_the_last_bytes_and_no_more_than_twice_its_chunks() -> None:
    recent, data = filled([1] * 50_000)
    live = len(recent.chunks) - recent.head
    assert recent.keep <= live <= recent.keep + 2
    assert len(recent.chunks) <= 2 * live + 2  # chunks gone from the window are let go
    first = 50_000 - live
    assert recent.kept(first, 50_000) == (first, data[first:])


def test_a_question_costs_the_same_however_many_chunks_the_window_holds() -> None:
    """Each stray copy asks for the bytes around it: a walk of the whole window per
    question made a stream of one-byte segments with stray copies quadratic."""
    small, _ = filled([1] * 300)
    large, _ = filled([1] * 20_000)
    costs = []
    for recent, end in ((small, 300), (large, 20_000)):

        def ask(recent: Recent = recent, end: int = end) -> None:
            for _ in range(20):
                recent.kept(end - 10, end)

        costs.append(count_lines(ask).lines)
    assert costs[1] <= 2 * costs[0], costs
