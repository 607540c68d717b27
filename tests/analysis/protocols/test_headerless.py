"""``HeaderlessStream``: a stream (or a datagram) that starts like compressed data,
decoded as it comes out of the flow's budget, its failures and its budget said."""

from __future__ import annotations

import zlib

import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.budget import DecodeBudget
from benches.analysis.protocols.headerless import MAX_LIVE, HeaderlessStream, LiveDecoders
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.readers import Facts

SECRET = b'{"imei":"352098100123452"}' * 100


class Sink:
    def __init__(self) -> None:
        self.chunks: list[tuple[str, bytes, int]] = []
        self.finished = 0

    def chunk(self, label: str, data: bytes, frame: int) -> None:
        self.chunks.append((label, data, frame))

    def finish(self) -> None:
        self.finished += 1

    @property
    def data(self) -> bytes:
        return b"".join(c for _, c, _ in self.chunks)


def reader(
    coding: str, budget: DecodeBudget | None = None, live: LiveDecoders | None = None
) -> tuple[HeaderlessStream, Sink, Facts, DecodeBudget]:
    facts, sink = Facts(), Sink()
    budget = budget or DecodeBudget()
    flow = budget.flow()
    return (
        HeaderlessStream(facts, flow, coding, sink, "TCP stream to_server", live=live),
        sink,
        facts,
        budget,
    )


def test_a_zstd_stream_in_segments_is_decoded_with_its_frames() -> None:
    data = zstandard.ZstdCompressor().compress(SECRET)
    stream, sink, facts, budget = reader("sniffed-zstd")
    for frame, start in enumerate(range(0, len(data), 10), 1):
        assert stream.data(data[start : start + 10], frame, 0.0)
    stream.close(99)
    assert sink.data == SECRET and sink.finished == 1
    assert {label for label, _, _ in sink.chunks} == {"sniffed-zstd"}
    assert budget.spent == len(SECRET) and facts.notes == []


def test_a_bomb_stops_at_the_flow_budget_and_says_so() -> None:
    data = zstandard.ZstdCompressor().compress(bytes(4 << 20))
    stream, sink, facts, budget = reader(
        "sniffed-zstd", DecodeBudget(total=1 << 30, per_flow=1 << 20)
    )
    assert not stream.data(data, 5, 0.0)
    assert len(sink.data) == 1 << 20 and budget.spent == 1 << 20
    [note] = facts.notes
    assert (
        note.kind == BUDGET_SPENT
        and "starts like sniffed-zstd stopped at the flow's" in note.detail
    )


def test_garbage_and_a_gap_are_decoder_gave_up_notes() -> None:
    stream, _, facts, _ = reader("sniffed-zlib")
    assert not stream.data(b"\x78\x9c" + b"\xff" * 50, 3, 0.0)
    assert [n.kind for n in facts.notes] == [DECODER_GAVE_UP]
    stream, _, facts, _ = reader("sniffed-zlib")
    assert stream.data(zlib.compress(SECRET)[:20], 3, 0.0)
    assert not stream.gap(500, 4)
    [note] = facts.notes
    assert note.kind == DECODER_GAVE_UP and note.detail.endswith("a gap in the stream")


def test_a_datagram_is_decoded_whole_and_done() -> None:
    stream, sink, facts, _ = reader("sniffed-zlib")
    assert not stream.datagram(zlib.compress(SECRET), 7, 0.0)
    assert sink.data == SECRET and sink.finished == 1 and facts.notes == []


def test_live_stream_decoders_are_bounded_and_given_back() -> None:
    live = LiveDecoders()
    assert all(live.take() for _ in range(MAX_LIVE)) and not live.take()
    live = LiveDecoders()
    assert live.take()
    stream, _, _, _ = reader("sniffed-gzip", live=live)
    stream.close(1)
    assert live.live == 0


@given(
    st.sampled_from(["sniffed-gzip", "sniffed-zlib", "sniffed-zstd"]),
    st.lists(st.binary(), max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_any_segments_never_raise_and_stay_in_the_budget(
    coding: str, segments: list[bytes]
) -> None:
    stream, sink, _, budget = reader(coding, DecodeBudget(total=1 << 20, per_flow=1 << 16))
    for frame, segment in enumerate(segments):
        if not stream.data(segment, frame, 0.0):
            break
    else:
        stream.close(len(segments))
    assert sink.finished == 1 and len(sink.data) <= 1 << 16 and budget.spent <= 1 << 16
