"""The bench's one hard power cycle (`PowerSwitch.cycle`), which the boot cycle and the
recovery chain both use: its timeline events, and the exact bytes its relays receive.

The relay board is the far end of a real pty (raw mode), read byte by byte.
"""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator

import pytest

from benches.inventory.models import (
    AsciiCommands,
    Device,
    Identity,
    Network,
    RelayBoard,
    RelayLink,
    Timings,
)
from benches.rack.power import PowerError, PowerSwitch, RelayBank, lcus_frame

TIMINGS = Timings(power_off_s=0.05, power_button_s=0.05)
WAIT_S = 10.0


class PtyBoard:
    """The board's side of a pty: what the bench wrote to it, in order."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)

    def take(self, count: int) -> bytes:
        """Exactly `count` bytes (waits for them), and nothing that came after."""
        data = b""
        deadline = time.monotonic() + WAIT_S
        while len(data) < count and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                data += os.read(self.master, count - len(data))
        return data

    def rest(self) -> bytes:
        """What else arrived, without waiting for more."""
        data = b""
        while select.select([self.master], [], [], 0.1)[0]:
            data += os.read(self.master, 4096)
        return data

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def board() -> Iterator[PtyBoard]:
    pty = PtyBoard()
    yield pty
    pty.close()


def phone(power: RelayLink | None, button: RelayLink | None) -> Device:
    return Device(
        serial="P1",
        model="TA-1046",
        network=Network(),
        identity=Identity(imei=("352098100123452",)),
        power=power,
        power_button=button,
    )


def test_power_cycle_events_and_relay_bytes_in_order(board: PtyBoard) -> None:
    bank = RelayBank((RelayBoard(name="relay0", driver="lcus", port=board.port),))
    switch = PowerSwitch(bank, phone(RelayLink("relay0", 1), RelayLink("relay0", 2)), TIMINGS)
    seen: list[tuple[str, bytes]] = []
    # Each event is told before its action: by then the bytes of the actions before it
    # have reached the board, and none of its own.
    sent_before = {"power_off": 0, "power_on": 4, "power_button": 4}
    try:
        switch.cycle(lambda name: seen.append((name, board.take(sent_before[name]))))
        after = board.take(8)
    finally:
        bank.close()
    cut, restore = lcus_frame(1, False), lcus_frame(1, True)
    assert seen == [("power_off", b""), ("power_on", cut), ("power_button", restore)]
    assert after == lcus_frame(2, True) + lcus_frame(2, False)  # the key, held then let go
    assert board.rest() == b""
    assert cut + restore == bytes.fromhex("A00100A1 A00101A2")


def test_power_cycle_without_a_key_only_switches_the_supply(board: PtyBoard) -> None:
    bank = RelayBank((RelayBoard(name="relay0", driver="lcus", port=board.port),))
    switch = PowerSwitch(bank, phone(RelayLink("relay0", 3), None), TIMINGS)
    events: list[str] = []
    try:
        switch.cycle(events.append)
        sent = board.take(8)
    finally:
        bank.close()
    assert events == ["power_off", "power_on"]
    assert sent == lcus_frame(3, False) + lcus_frame(3, True)
    assert board.rest() == b""


def test_power_is_restored_even_after_a_failed_cut(board: PtyBoard) -> None:
    """A PDU that does not acknowledge may still have switched: the restore is always sent."""
    commands = AsciiCommands(on="ON {channel}\r\n", off="OFF {channel}\r\n", reply="OK")
    pdu = RelayBoard(name="pdu0", driver="ascii", port=board.port, ascii=commands)
    bank = RelayBank((pdu,), timeout=0.2)  # the board never answers
    switch = PowerSwitch(bank, phone(RelayLink("pdu0", 1), RelayLink("pdu0", 2)), TIMINGS)
    events: list[str] = []
    try:
        with pytest.raises(PowerError) as raised:
            switch.cycle(events.append)
        sent = board.take(len(b"OFF 1\r\nON 1\r\n"))
    finally:
        bank.close()
    assert events == ["power_off", "power_on"]  # no key press after a failure
    assert sent == b"OFF 1\r\nON 1\r\n"
    assert board.rest() == b""
    assert (
        str(raised.value)
        == "relay board pdu0: sent 'ON 1\\r\\n', expected a reply with 'OK', got nothing"
    )


def test_no_supply_relay_switches_nothing(board: PtyBoard) -> None:
    bank = RelayBank((RelayBoard(name="relay0", driver="lcus", port=board.port),))
    switch = PowerSwitch(bank, phone(None, RelayLink("relay0", 2)), TIMINGS)
    events: list[str] = []
    try:
        with pytest.raises(PowerError, match="has no power relay"):
            switch.cycle(events.append)
    finally:
        bank.close()
    assert events == [] and board.rest() == b""
