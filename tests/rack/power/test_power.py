"""Power over pyserial: relay drivers, the shared bank and one phone's power switch,
driven against virtual boards on real ptys and loopback TCP ports."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from benches.inventory.hardware import RELAY_DRIVERS
from benches.inventory.models import (
    AsciiCommands,
    Device,
    Identity,
    Network,
    RelayBoard,
    RelayLink,
    Timings,
)
from benches.rack.power import PowerError, PowerSwitch, RelayBank
from benches.rack.power.ascii_board import AsciiDriver
from benches.rack.power.boards import RELAY_BOARDS
from benches.rack.power.lcus import LcusDriver
from benches.redaction.masks import device_label
from benches.sim.relay_board import VirtualRelayBoard
from tests.support.serial_rig import Events, free_url, port_for

HOST = "127.0.71.10"
# pyserial's RFC 2217 client uses threading calls Python deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:serial.rfc2217")
PDU_COMMANDS = AsciiCommands(on="ON {channel}\r\n", off="OFF {channel}\r\n", reply="OK")
TIMINGS = Timings(power_off_s=0.05, power_button_s=0.05)


def phone(serial: str, power: RelayLink | None, button: RelayLink | None) -> Device:
    return Device(
        serial=serial,
        model="TA-1046",
        network=Network(),
        identity=Identity(imei=("352098100123452",)),
        power=power,
        power_button=button,
    )


@pytest.fixture
def lcus_rig(tmp_path: Path) -> Iterator[tuple[RelayBank, VirtualRelayBoard, Events]]:
    board = RelayBoard(name="relay0", driver="lcus", port=str(tmp_path / "dev" / "relay0"))
    events = Events()
    virtual = VirtualRelayBoard(board, events)
    virtual.start()
    bank = RelayBank((board,))
    yield bank, virtual, events
    bank.close()
    virtual.stop()


def one_line_error(raised: pytest.ExceptionInfo[PowerError]) -> str:
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("kind", ["pty", "socket", "rfc2217"])
def test_ascii_board_with_the_expected_reply(kind: str, tmp_path: Path) -> None:
    board = RelayBoard(
        name="pdu0", driver="ascii", port=port_for(kind, tmp_path, HOST), ascii=PDU_COMMANDS
    )
    events = Events()
    virtual = VirtualRelayBoard(board, events)
    virtual.start()
    bank = RelayBank((board,))
    try:
        bank.switch(RelayLink("pdu0", 2), True)
        bank.switch(RelayLink("pdu0", 2), False)
        assert events.take(2) == [(2, True), (2, False)]
        assert virtual.bad_frames == 0
    finally:
        bank.close()
        virtual.stop()


@pytest.mark.parametrize(
    ("answers", "got"), [("ERR", "got 'ERR\\r\\n'"), (None, "got nothing")], ids=["wrong", "none"]
)
def test_ascii_board_with_a_wrong_or_missing_reply(
    answers: str | None, got: str, tmp_path: Path
) -> None:
    port = str(tmp_path / "pdu0")
    real = RelayBoard(
        name="pdu0",
        driver="ascii",
        port=port,
        ascii=AsciiCommands(on=PDU_COMMANDS.on, off=PDU_COMMANDS.off, reply=answers),
    )
    virtual = VirtualRelayBoard(real, Events())
    virtual.start()
    declared = RelayBoard(name="pdu0", driver="ascii", port=port, ascii=PDU_COMMANDS)
    bank = RelayBank((declared,), timeout=0.3)
    try:
        with pytest.raises(PowerError) as raised:
            bank.switch(RelayLink("pdu0", 1), True)
    finally:
        bank.close()
        virtual.stop()
    assert one_line_error(raised) == (
        f"relay board pdu0: sent 'ON 1\\r\\n', expected a reply with 'OK', {got}"
    )


def test_unopenable_device_path_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB0"
    bank = RelayBank((RelayBoard(name="relay0", driver="lcus", port=str(missing)),))
    with pytest.raises(PowerError) as raised:
        bank.switch(RelayLink("relay0", 1), True)
    assert one_line_error(raised) == (
        f"relay board relay0: cannot open {missing}: [Errno 2] No such file or directory"
    )


@pytest.mark.parametrize("scheme", ["socket", "rfc2217"])
def test_unopenable_url_is_one_line(scheme: str) -> None:
    url = free_url(scheme, HOST)  # nothing listens there
    bank = RelayBank((RelayBoard(name="relay0", driver="lcus", port=url),))
    with pytest.raises(PowerError) as raised:
        bank.switch(RelayLink("relay0", 1), True)
    assert one_line_error(raised).startswith(f"relay board relay0: cannot open {url}: ")
    assert "refused" in str(raised.value)


def test_press_holds_the_button_then_releases(lcus_rig: tuple) -> None:
    bank, virtual, events = lcus_rig
    switch = PowerSwitch(bank, phone("P1", RelayLink("relay0", 1), RelayLink("relay0", 2)), TIMINGS)
    switch.press()
    switch.press(0.01)
    assert events.take(4) == [(2, True), (2, False), (2, True), (2, False)]
    assert virtual.states[2] is False


def test_cycle_cuts_then_restores(lcus_rig: tuple) -> None:
    bank, _, events = lcus_rig
    switch = PowerSwitch(bank, phone("P1", RelayLink("relay0", 1), None), TIMINGS)
    switch.on()
    switch.cycle()
    switch.off()
    assert events.take(4) == [(1, True), (1, False), (1, True), (1, False)]


def test_what_is_wired_and_what_is_not(lcus_rig: tuple) -> None:
    bank, _, events = lcus_rig
    button_only = PowerSwitch(bank, phone("P1", None, RelayLink("relay0", 2)), TIMINGS)
    assert (button_only.has_power, button_only.has_button) == (False, True)
    with pytest.raises(PowerError) as raised:
        button_only.cycle()
    label = device_label("P1")  # masked, as everywhere people read a serial
    assert one_line_error(raised) == f"phone {label} has no power relay in devices.yaml"
    nothing = PowerSwitch(bank, phone("P2", None, None), TIMINGS)
    assert (nothing.has_power, nothing.has_button) == (False, False)
    with pytest.raises(PowerError, match="no power-button relay"):
        nothing.press()
    assert events.pending() == []


def test_channel_outside_the_board_and_unknown_board(lcus_rig: tuple) -> None:
    bank, _, _ = lcus_rig
    with pytest.raises(PowerError) as raised:
        bank.switch(RelayLink("relay0", 5), True)
    assert one_line_error(raised) == "relay board relay0 has channels 1-4, not 5"
    with pytest.raises(PowerError, match="no relay board named relay9"):
        bank.switch(RelayLink("relay9", 1), True)


def test_phones_share_one_connection_to_their_board() -> None:
    # A socket:// server takes one client at a time, as ser2net does: a second
    # connection from the bank would never be served, and its frames never arrive.
    board = RelayBoard(name="relay0", driver="lcus", port=free_url("socket", HOST), channels=8)
    events = Events()
    virtual = VirtualRelayBoard(board, events)
    virtual.start()
    bank = RelayBank((board,))
    switches = [
        PowerSwitch(bank, phone(f"P{n}", None, RelayLink("relay0", n)), TIMINGS) for n in (1, 2, 3)
    ]
    try:
        threads = [threading.Thread(target=switch.press) for switch in switches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seen = events.take(6)
        for channel in (1, 2, 3):
            assert [closed for ch, closed in seen if ch == channel] == [True, False]
    finally:
        bank.close()
        virtual.stop()


def test_every_relay_action_is_logged(lcus_rig: tuple, caplog: pytest.LogCaptureFixture) -> None:
    bank, _, events = lcus_rig
    switch = PowerSwitch(bank, phone("P1", RelayLink("relay0", 1), RelayLink("relay0", 2)), TIMINGS)
    with caplog.at_level(logging.INFO, logger="benches.rack.power"):
        switch.press(0.01)
    events.take(2)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("benches.rack.power")]
    assert messages == [
        f"relay board relay0 channel 2 on ({device_label('P1')} power button held for 0.01 s)",
        f"relay board relay0 channel 2 off ({device_label('P1')} power button released)",
    ]


def test_a_closed_bank_switches_nothing(lcus_rig: tuple) -> None:
    bank, _, events = lcus_rig
    bank.switch(RelayLink("relay0", 1), True)
    assert events.take(1) == [(1, True)]
    bank.close()
    with pytest.raises(PowerError, match="closed"):
        bank.switch(RelayLink("relay0", 1), False)


def test_the_registry_knows_every_driver_devices_yaml_may_name() -> None:
    assert set(RELAY_BOARDS) == set(RELAY_DRIVERS)
    assert (RELAY_BOARDS["lcus"], RELAY_BOARDS["ascii"]) == (LcusDriver, AsciiDriver)


def test_a_driver_nobody_registered_is_one_line(tmp_path: Path) -> None:
    bank = RelayBank((RelayBoard(name="x0", driver="x10", port=str(tmp_path / "ttyUSB0")),))
    with pytest.raises(PowerError) as raised:
        bank.switch(RelayLink("x0", 1), True)
    assert one_line_error(raised) == "relay board x0: unknown driver 'x10'"
