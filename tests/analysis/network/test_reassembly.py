"""TCP reassembly, one direction at a time: order, overlaps (first copy wins), gaps, wrap-around."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.packet import Raw

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.network import tcp
from benches.analysis.network.tcp import Budget, Reassembler
from tests.support.pcaps import CN_IP, IMEI, PHONE_IP, TcpSession, http_post, make_rack, write_pcap
from tests.support.streamrec import RecordedStream, record

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
ISN = 1000


def stream(isn: int | None = ISN) -> tuple[Reassembler, RecordedStream]:
    sink = RecordedStream()
    reassembler = Reassembler(sink, Budget())
    if isn is not None:
        reassembler.syn(isn)
    return reassembler, sink


def feed(reassembler: Reassembler, *segments: tuple[int, bytes], isn: int = ISN) -> None:
    """Segments as (offset in the stream, bytes); frame = position in the call."""
    for frame, (offset, data) in enumerate(segments, 1):
        reassembler.segment((isn + 1 + offset) % 2**32, data, frame, 0.0)


def test_in_order_bytes_are_handed_on_at_once() -> None:
    reassembler, sink = stream()
    feed(reassembler, (0, b"abc"))
    assert sink.payload == b"abc"  # streamed, not kept until the end
    feed(reassembler, (3, b"def"))
    assert sink.chunks == [(0, b"abc", 1), (3, b"def", 1)]


def test_out_of_order_segments_wait_for_the_hole() -> None:
    reassembler, sink = stream()
    feed(reassembler, (6, b"ghi"), (3, b"def"))
    assert sink.payload == b""
    feed(reassembler, (0, b"abc"))
    assert sink.payload == b"abcdefghi"
    assert [frame for _, _, frame in sink.chunks] == [1, 2, 1]  # each byte keeps its frame


def test_exact_retransmission_is_searched_alone_and_not_placed() -> None:
    reassembler, sink = stream()
    feed(reassembler, (0, b"abc"), (0, b"abc"), (3, b"def"))
    assert sink.payload == b"abcdef"
    assert sink.strays == [(0, b"abc", 2)]


def test_overlap_with_delivered_bytes_keeps_the_first_copy() -> None:
    reassembler, sink = stream()
    feed(reassembler, (0, b"abcde"), (3, b"XYfgh"))
    assert sink.payload == b"abcdefgh"
    assert sink.strays == [(3, b"XY", 2)]  # the later copy is still searched


def test_held_overlap_at_the_start_of_a_later_segment_keeps_the_first_copy() -> None:
    reassembler, sink = stream()
    feed(reassembler, (5, b"fghij"), (3, b"deFGH"), (0, b"abc"))
    assert sink.payload == b"abcdefghij"
    assert sink.strays == [(5, b"FGH", 2)]


def test_held_overlap_at_the_end_of_a_later_segment_keeps_the_first_copy() -> None:
    reassembler, sink = stream()
    feed(reassembler, (3, b"defgh"), (6, b"GHijk"), (0, b"abc"))
    assert sink.payload == b"abcdefghijk"
    assert sink.strays == [(6, b"GH", 2)]


def test_a_later_segment_covering_a_held_one_fills_only_around_it() -> None:
    reassembler, sink = stream()
    feed(reassembler, (4, b"ef"), (2, b"cdEFgh"), (0, b"ab"))
    assert sink.payload == b"abcdefgh"
    assert sink.strays == [(4, b"EF", 2)]


def test_identical_held_overlap_is_not_searched_twice() -> None:
    reassembler, sink = stream()
    feed(reassembler, (4, b"efgh"), (2, b"cdefgh"), (0, b"ab"))
    assert sink.payload == b"abcdefgh"
    assert sink.strays == []


@pytest.mark.parametrize("isn", [2**32 - 3, 2**32 - 1, 0xFFFFFFFF - 1500])
def test_sequence_numbers_wrap_around(isn: int) -> None:
    reassembler, sink = stream(isn)
    data = bytes(range(256)) * 12
    pieces = [(i, data[i : i + 700]) for i in range(0, len(data), 700)]
    feed(reassembler, *reversed(pieces), isn=isn)
    assert sink.payload == data
    reassembler.close(peer_ack=(isn + 1 + len(data)) % 2**32)
    assert reassembler.gaps == 0


def test_without_a_syn_the_first_segment_starts_the_stream() -> None:
    reassembler, sink = stream(isn=None)
    reassembler.segment(5000, b"world", 1, 0.0)
    reassembler.segment(4995, b"hello", 2, 0.0)  # before the start: searched alone
    assert sink.payload == b"world"
    assert sink.strays == [(-5, b"hello", 2)]


def test_a_hole_is_a_gap_when_the_stream_ends() -> None:
    reassembler, sink = stream()
    feed(reassembler, (0, b"abc"), (6, b"ghi"))
    reassembler.close(peer_ack=None)
    assert reassembler.gaps == 1
    assert sink.gaps == [6]
    assert sink.chunks == [(0, b"abc", 1), (6, b"ghi", 2)]
    assert sink.closed


def test_bytes_the_peer_acknowledged_but_the_capture_missed_are_a_gap() -> None:
    reassembler, _ = stream()
    feed(reassembler, (0, b"abc"))
    reassembler.close(peer_ack=ISN + 1 + 3 + 2)  # two more than seen: a byte and a FIN
    assert reassembler.gaps == 1


def test_an_acknowledged_fin_the_capture_missed_is_not_a_gap() -> None:
    for fin in (False, True):
        reassembler, _ = stream()
        feed(reassembler, (0, b"abc"))
        if fin:
            reassembler.fin(ISN + 1 + 3)
        reassembler.close(peer_ack=ISN + 1 + 3 + 1)
        assert reassembler.gaps == 0


def test_a_fin_beyond_the_bytes_seen_is_a_gap() -> None:
    reassembler, _ = stream()
    feed(reassembler, (0, b"abc"))
    reassembler.fin(ISN + 1 + 10)
    assert not reassembler.finished
    reassembler.close(peer_ack=None)
    assert reassembler.gaps == 1


def test_bytes_past_the_fin_are_searched_alone() -> None:
    reassembler, sink = stream()
    feed(reassembler, (0, b"abc"))
    reassembler.fin(ISN + 1 + 3)
    assert reassembler.finished
    feed(reassembler, (3, b"late"))
    assert sink.payload == b"abc"
    assert sink.strays == [(3, b"late", 1)]


def test_too_much_held_gives_up_the_hole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tcp, "MAX_HELD", 10)
    reassembler, sink = stream()
    feed(reassembler, (0, b"ab"), (5, b"fghij"), (10, b"klmno"), (15, b"p"))
    assert reassembler.gaps == 1
    assert sink.payload == b"abfghijklmnop"
    assert reassembler.held == {}


def test_the_shared_budget_bounds_every_connection_together() -> None:
    budget = Budget(limit=8)
    sinks = [RecordedStream(), RecordedStream()]
    one, two = (Reassembler(sink, budget) for sink in sinks)
    for reassembler in (one, two):
        reassembler.syn(ISN)
    feed(one, (4, b"efgh"))
    feed(two, (4, b"efgh"))
    assert (one.gaps, two.gaps) == (0, 0)
    feed(two, (8, b"i"))  # over the budget: this connection gives up its hole
    assert (one.gaps, two.gaps) == (0, 1)
    assert budget.held == 4


def test_a_copy_over_several_held_pieces_is_one_stray_copy() -> None:
    """One stray per held piece made a segment over thousands of one-byte pieces cost
    thousands of searches; the copy is searched once, from its first differing byte to
    its last (the new bytes between them are kept, and searched with it)."""
    reassembler, sink = stream()
    feed(reassembler, (2, b"c"), (4, b"e"), (6, b"g"), (1, b"bCdEfGh"), (0, b"a"))
    assert sink.payload == b"abcdefgh"
    assert sink.strays == [(2, b"CdEfG", 4)]


def test_the_shared_budget_counts_pieces_too() -> None:
    """A one-byte piece costs a couple of hundred bytes of memory: the budget counts the
    pieces held across connections, not only their bytes."""
    budget = Budget(piece_limit=3)
    reassembler = Reassembler(RecordedStream(), budget)
    reassembler.syn(ISN)
    feed(reassembler, (2, b"c"), (4, b"e"), (6, b"g"))
    assert (reassembler.gaps, budget.pieces) == (0, 3)
    feed(reassembler, (8, b"i"))  # a fourth piece: over the budget, the holes are given up
    assert reassembler.gaps == 4
    assert (budget.held, budget.pieces) == (0, 0)


def test_a_shard_gets_its_share_of_both_budgets() -> None:
    share = Budget.share(4)
    assert (share.limit, share.piece_limit) == (tcp.BUDGET // 4, tcp.BUDGET_PIECES // 4)


def test_pieces_drained_at_once_leave_nothing_held() -> None:
    reassembler, sink = stream()
    pieces = [(offset, bytes([65 + offset % 26])) for offset in range(1, 3000)]
    feed(reassembler, *reversed(pieces))
    assert len(reassembler.starts) == 2999
    feed(reassembler, (0, b"@"))
    assert len(sink.payload) == 3000
    assert reassembler.starts == [] and reassembler.held == {} and reassembler.held_bytes == 0
    assert [frame for _, _, frame in sink.chunks[:3]] == [1, 2999, 2998]


@st.composite
def shuffled_segments(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, bytes]], int]:
    data = draw(st.binary(min_size=1, max_size=400))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    pieces = [(a, data[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    # retransmissions, and overlapping copies with the same bytes
    extra = draw(st.lists(st.sampled_from(pieces), max_size=6))
    spans = draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(1, 50)), max_size=4))
    extra += [(a, data[a : a + n]) for a, n in spans]
    order = draw(st.permutations(pieces + extra))
    isn = draw(st.integers(0, 2**32 - 1))
    return data, list(order), isn


@settings(max_examples=400, deadline=None)
@given(case=shuffled_segments())
def test_any_order_and_duplication_gives_back_the_original(
    case: tuple[bytes, list[tuple[int, bytes]], int],
) -> None:
    data, segments, isn = case
    reassembler, sink = stream(isn)
    feed(reassembler, *segments, isn=isn)
    reassembler.close(peer_ack=(isn + 1 + len(data)) % 2**32)
    assert sink.payload == data
    assert reassembler.gaps == 0
    assert all(data[o : o + len(b)] == b for o, b, _ in sink.strays)  # copies, never new bytes


@settings(max_examples=300, deadline=None)
@given(
    segments=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(min_size=1, max_size=40))),
    isn=st.none() | st.integers(0, 2**32 - 1),
    fin=st.none() | st.integers(0, 2**32 - 1),
    ack=st.none() | st.integers(0, 2**32 - 1),
)
def test_random_segments_never_raise(
    segments: list[tuple[int, bytes]], isn: int | None, fin: int | None, ack: int | None
) -> None:
    reassembler, sink = stream(isn)
    for frame, (seq, data) in enumerate(segments):
        reassembler.segment(seq, data, frame, 0.0)
        if fin is not None and frame == 1:
            reassembler.fin(fin)
    reassembler.close(ack)
    assert sink.closed
    assert reassembler.held == {}


# --- through a capture ------------------------------------------------------------


def leak_session(mss: int = 12) -> tuple[TcpSession, list, bytes]:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=mss).handshake()
    body = http_post("zfhmd.vnet.cn", "/a", b"imei=" + IMEI.encode())
    segments = session.send(body, ack=False)
    return session, segments, body


def imei_match(tmp_path: Path, packets: list):  # type: ignore[no-untyped-def]
    analysis = analyze([write_pcap(tmp_path / "s.pcap", packets)], RACK, GEO)
    matches = [m for m in analysis.matches if m.identifier == "imei"]
    assert len(matches) == 1, matches
    return matches[0], analysis


def test_imei_split_across_out_of_order_segments(tmp_path: Path) -> None:
    session, segments, body = leak_session()
    packets = session.packets[:3] + list(reversed(segments))
    match, analysis = imei_match(tmp_path, packets)
    offset = body.index(IMEI.encode())
    assert match.offset == offset
    # the segment holding the IMEI's first byte, as numbered in the file
    first = segments[offset // 12]
    assert match.packet == packets.index(first) + 1
    assert analysis.flows[0].gaps == 0


def test_imei_split_across_retransmitted_segments(tmp_path: Path) -> None:
    session, segments, body = leak_session()
    packets = session.packets[:3] + [p for s in segments for p in (s, s)]
    match, analysis = imei_match(tmp_path, packets)
    assert match.packet == 4 + 2 * (body.index(IMEI.encode()) // 12)
    assert analysis.flows[0].gaps == 0


def test_imei_in_overlapping_segments_either_way(tmp_path: Path) -> None:
    session, segments, body = leak_session()
    at = body.index(IMEI.encode())
    index = at // 12
    # a later copy that spans two segments with different bytes: first copy wins, both searched
    merged = segments[index].copy()
    merged[Raw].load = body[index * 12 : index * 12 + 24].replace(IMEI[:5].encode(), b"XXXXX")
    for packets in (
        session.packets[:3] + segments[: index + 2] + [merged] + segments[index + 2 :],
        session.packets[:3] + segments[:index] + [merged] + segments[index:],
    ):
        analysis = analyze([write_pcap(tmp_path / "o.pcap", packets)], RACK, GEO)
        assert [m.identifier for m in analysis.matches].count("imei") == 1
        assert analysis.flows[0].gaps == 0


def test_an_imei_only_in_a_differing_retransmission_is_still_found(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    (first,) = session.send(b"imei=" + b"0" * 15 + b"&x=1", ack=False)
    second = first.copy()
    second[Raw].load = b"imei=" + IMEI.encode() + b"&x=1"
    analysis = analyze(
        [write_pcap(tmp_path / "r.pcap", [*session.packets[:3], first, second])], RACK, GEO
    )
    (match,) = analysis.matches
    assert (match.identifier, match.packet, match.offset) == ("imei", 5, 5)


def test_a_missing_segment_makes_a_gap_and_an_inconclusive_stream(tmp_path: Path) -> None:
    session, segments, _ = leak_session()
    session.send(b"ok", from_client=False)
    packets = [p for p in session.packets if p is not segments[2]]
    analysis = analyze([write_pcap(tmp_path / "g.pcap", packets)], RACK, GEO)
    (flow,) = analysis.flows
    assert flow.gaps == 1


def test_rst_closes_the_flow(tmp_path: Path) -> None:
    session, _, _ = leak_session()
    session._segment(False, "R")
    flows, raw, _ = record(write_pcap(tmp_path / "rst.pcap", session.packets))
    assert flows[0].closed and raw[0].closed
    assert flows[0].to_server.payload.endswith(IMEI.encode())


@st.composite
def shuffled_session(draw: st.DrawFn) -> tuple[list, int]:
    mss = draw(st.integers(3, 40))
    session, segments, body = leak_session(mss)
    repeats = draw(st.lists(st.sampled_from(segments), max_size=4))
    order = draw(st.permutations(segments + repeats))
    return session.packets[:3] + list(order), body.index(IMEI.encode())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=shuffled_session())
def test_any_segment_order_through_a_capture_finds_the_imei_once(
    tmp_path: Path, case: tuple[list, int]
) -> None:
    packets, offset = case
    match, analysis = imei_match(tmp_path, packets)
    assert match.offset == offset
    assert analysis.flows[0].gaps == 0
