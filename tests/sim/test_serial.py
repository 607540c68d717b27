"""The virtual rack's serial plumbing: ptys, socket:// and rfc2217:// ports that pyserial
opens like real ones, and the virtual relay board's parsers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.inventory.models import AsciiCommands, RelayBoard, RelayLink
from benches.rack.power import RelayBank
from benches.sim.relays.board import VirtualRelayBoard
from benches.sim.relays.parsers import AsciiParser, LcusParser
from benches.sim.serial.base import SerialServeError
from benches.sim.serial.ports import serve_port
from benches.sim.serial.pty_port import PtyPort
from tests.support.serial_rig import ByteSink, Events, free_url, port_for, wait_until

HOST = "127.0.71.30"
# pyserial's RFC 2217 client uses threading calls Python deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:serial.rfc2217")
KINDS = ("pty", "socket", "rfc2217")


@pytest.mark.parametrize("kind", KINDS)
def test_lcus_frames_arrive_byte_exact(kind: str, tmp_path: Path) -> None:
    port = port_for(kind, tmp_path, HOST)
    sink = ByteSink()
    served = serve_port(port, sink, "test port")
    served.start()
    bank = RelayBank((RelayBoard(name="relay0", driver="lcus", port=port, channels=4),))
    try:
        bank.switch(RelayLink("relay0", 1), True)
        bank.switch(RelayLink("relay0", 1), False)
        bank.switch(RelayLink("relay0", 4), True)
        expected = bytes.fromhex("A00101A2 A00100A1 A00401A5")
        assert sink.wait_for(len(expected)) == expected
    finally:
        bank.close()
        served.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_virtual_board_follows_the_bench(kind: str, tmp_path: Path) -> None:
    board = RelayBoard(name="relay0", driver="lcus", port=port_for(kind, tmp_path, HOST))
    events = Events()
    virtual = VirtualRelayBoard(board, events)
    virtual.start()
    bank = RelayBank((board,))
    try:
        bank.switch(RelayLink("relay0", 3), True)
        bank.switch(RelayLink("relay0", 3), True)  # no change, no event
        bank.switch(RelayLink("relay0", 2), True)
        bank.switch(RelayLink("relay0", 3), False)
        assert events.take(3) == [(3, True), (2, True), (3, False)]
        assert virtual.states == {1: False, 2: True, 3: False, 4: False}
        assert virtual.bad_frames == 0
    finally:
        bank.close()
        virtual.stop()


def test_bad_frames_are_counted_and_the_board_carries_on(tmp_path: Path) -> None:
    board = RelayBoard(name="relay0", driver="lcus", port=str(tmp_path / "relay0"))
    events = Events()
    virtual = VirtualRelayBoard(board, events)
    virtual.start()
    try:
        with serial.Serial(board.port, 9600, timeout=1) as bench:
            bench.write(bytes.fromhex("A00101FF"))  # bad checksum
            bench.write(bytes.fromhex("A00901AA"))  # channel 9 on a 4-channel board
            bench.write(bytes.fromhex("A0010202A3"))  # state 02, then garbage
            bench.write(bytes.fromhex("A00201A3"))  # a good frame after all that
            assert events.take(1) == [(2, True)]
        assert virtual.bad_frames >= 3
        assert virtual.states[1] is False
    finally:
        virtual.stop()


def test_a_line_at_the_wrong_baud_is_garbage_to_the_board(tmp_path: Path) -> None:
    board = RelayBoard(name="relay0", driver="lcus", port=str(tmp_path / "relay0"), baud=9600)
    events = Events()
    virtual = VirtualRelayBoard(board, events)
    virtual.start()
    misdeclared = RelayBoard(name="relay0", driver="lcus", port=board.port, baud=115200)
    bank = RelayBank((misdeclared,))
    try:
        bank.switch(RelayLink("relay0", 1), True)
        assert wait_until(lambda: virtual.garbled_bytes >= 4)
        assert virtual.states[1] is False
        assert events.pending() == []
    finally:
        bank.close()
        virtual.stop()


def test_pty_link_replaces_a_stale_link_and_goes_away(tmp_path: Path) -> None:
    link = tmp_path / "new" / "dir" / "ttyRELAY"
    link.parent.mkdir(parents=True)
    os.symlink("/dev/pts/nonexistent", link)
    served = PtyPort(str(link), ByteSink(), "test port")
    served.start()
    try:
        assert link.is_symlink() and os.readlink(link) == served.slave_name
        with serial.Serial(str(link), 9600, timeout=1) as opened:
            assert opened.is_open
    finally:
        served.stop()
    assert not os.path.lexists(link)


def test_pty_refuses_to_replace_something_that_is_not_a_link(tmp_path: Path) -> None:
    real = tmp_path / "ttyUSB0"
    real.write_text("a real device, say\n")
    with pytest.raises(SerialServeError, match="not a symlink"):
        PtyPort(str(real), ByteSink(), "test port").start()
    assert real.read_text() == "a real device, say\n"


@pytest.mark.parametrize(
    "port", ["socket://10.0.0.1:20001", "rfc2217://example.com:20001", "telnet://127.0.0.1:1"]
)
def test_virtual_ports_stay_on_loopback(port: str) -> None:
    with pytest.raises(SerialServeError) as caught:
        serve_port(port, ByteSink(), "virtual relay board relay0")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("virtual relay board relay0: cannot serve")


def test_socket_port_serves_one_client_then_the_next() -> None:
    port = free_url("socket", HOST)
    sink = ByteSink()
    served = serve_port(port, sink, "test port")
    served.start()
    try:
        with serial.serial_for_url(port, timeout=1) as first:
            first.write(b"one")
            sink.wait_for(3)
        with serial.serial_for_url(port, timeout=1) as second:
            second.write(b"two")
            assert sink.wait_for(6) == b"onetwo"
            served.send(b"back")
            assert second.read(4) == b"back"
    finally:
        served.stop()


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
