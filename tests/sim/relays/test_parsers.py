"""The virtual relay board's parsers: LCUS frames and ASCII commands, in any pieces,
among any garbage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.inventory.models import AsciiCommands
from benches.sim.relays.parsers import AsciiParser, LcusParser


def lcus(channel: int, closed: bool) -> bytes:
    state = 1 if closed else 0
    return bytes((0xA0, channel, state, (0xA0 + channel + state) & 0xFF))


def feed_in_pieces(parser: LcusParser, stream: bytes, cuts: list[int]) -> list[tuple[int, bool]]:
    found = []
    start = 0
    for cut in sorted(set(cuts)) + [len(stream)]:
        found += parser.feed(stream[start:cut])
        start = cut
    return found


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.lists(st.integers(0, 512), max_size=20))
def test_lcus_parser_survives_any_bytes_in_any_pieces(data: bytes, cuts: list[int]) -> None:
    whole = LcusParser(channels=8)
    at_once = whole.feed(data)
    assert all(1 <= channel <= 8 for channel, _ in at_once)
    assert whole.bad_frames >= 0 and 0 <= whole.skipped_bytes <= len(data)
    cuts = [cut for cut in cuts if cut <= len(data)]
    assert feed_in_pieces(LcusParser(channels=8), data, cuts) == at_once


frames = st.tuples(st.integers(1, 8), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=12), frames), min_size=1, max_size=8),
    st.binary(max_size=12),
    st.lists(st.integers(0, 200), max_size=10),
)
def test_lcus_frames_in_garbage_are_still_found(
    pieces: list[tuple[bytes, tuple[int, bool]]], tail: bytes, cuts: list[int]
) -> None:
    stream = b"".join(garbage + lcus(*frame) for garbage, frame in pieces) + tail
    found = feed_in_pieces(LcusParser(channels=8), stream, cuts)
    wanted = [frame for _, frame in pieces]
    remaining = iter(found)  # every real frame, in order, among what was found
    assert all(frame in remaining for frame in wanted), (found, wanted)


def test_lcus_parser_counts_garbage() -> None:
    parser = LcusParser(channels=4)
    assert parser.feed(b"\x00\xa0\x01\x01") == []
    assert parser.bad_frames == 0  # the frame may still be arriving
    assert parser.feed(b"\x00") == []
    assert parser.bad_frames == 1
    assert parser.feed(lcus(4, True)) == [(4, True)]


def test_ascii_parser_reads_commands_in_any_pieces_and_skips_the_rest() -> None:
    commands = AsciiCommands(on="ON {channel}\r\n", off="OFF {channel}\r\n")
    parser = AsciiParser(commands, channels=12)
    stream = b"ON 1\r\nHELLO\r\nOFF 12\r\nON 1"
    found = [command for byte in stream for command in parser.feed(bytes([byte]))]
    assert found == [(1, True), (12, False)]
    assert parser.bad_frames == 1  # HELLO
    assert parser.feed(b"0\r\n") == [(10, True)]


def test_ascii_parser_tells_a_command_from_the_start_of_a_longer_one() -> None:
    parser = AsciiParser(AsciiCommands(on="ON{channel}", off="OFF{channel}"), channels=10)
    assert parser.feed(b"ON1") == []  # ON1, or the start of ON10?
    assert parser.feed(b"0OFF1") == [(10, True)]
    assert parser.feed(b"ON2") == [(1, False), (2, True)]
