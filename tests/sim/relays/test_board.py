"""The virtual relay board on each kind of served port, driven by the bench's RelayBank."""

from __future__ import annotations

from pathlib import Path

import pytest
import serial

from benches.inventory.models import RelayBoard, RelayLink
from benches.rack.power import RelayBank
from benches.sim.relays.board import VirtualRelayBoard
from tests.support.serial_rig import Events, port_for, wait_until

HOST = "127.0.71.30"
# pyserial's RFC 2217 client uses threading calls Python deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:serial.rfc2217")
KINDS = ("pty", "socket", "rfc2217")


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
