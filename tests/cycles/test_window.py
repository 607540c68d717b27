"""One cycle's window and everything recorded around it (the capture, the UART console,
logcat): one shape, started in order, stopped in reverse, their files named alike and
handed over in the record, even when the phone fails mid-window.

The phone is unreachable on purpose: its adb server port has no server behind it, so
every adb command fails as it would for a phone that dropped off the bench.
"""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from benches.capture.gateway import Gateway
from benches.capture.process import CaptureStartError
from benches.cycles import CycleInterrupted, CycleWindow
from benches.cycles.window import window_name
from benches.inventory import load_rack
from benches.inventory.models import Device, Network, Rack, SerialConsole
from benches.rack.adb.phone import Phone
from benches.rack.adb.server import AdbServer
from benches.rack.health import BenchFault
from benches.redaction.masks import SHOW_IDENTIFIERS_ENV
from benches.redaction.rack_masker import forget_rack, use_rack
from benches.sim.uart import VirtualUart
from tests.support.rackfiles import SHIPPED_RACK

NOBODY_ADB_PORT = 5194  # in this suite's range; no adb server listens there
ADDRESS = "127.0.2.221"


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rack]:
    """The shipped rack in use, so evidence files are masked as on a sign-off."""
    monkeypatch.delenv(SHOW_IDENTIFIERS_ENV, raising=False)
    loaded = load_rack(SHIPPED_RACK)
    use_rack(loaded)
    try:
        yield loaded
    finally:
        forget_rack()


def unreachable(device: Device, console: SerialConsole | None) -> Phone:
    """The rack's first phone on this test's address and console, behind a dead adb port."""
    moved = dataclasses.replace(device, network=Network(ipv4=ADDRESS), console=console)
    return Phone(moved, AdbServer("127.0.0.1", NOBODY_ADB_PORT, usb=False))


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_window_names() -> None:
    assert window_name("boot", 2) == "boot-2"
    assert window_name("boot", 2, attempt=2) == "boot-2-attempt2"


def test_every_file_of_a_window_is_named_alike(shipped: Rack, tmp_path: Path) -> None:
    phone = unreachable(shipped.devices[0], SerialConsole(port=str(tmp_path / "ttyCONSOLE")))
    window = CycleWindow(phone, Gateway("lo", tmp_path / "pcaps"), "boot", 2, attempt=2)
    assert window.console is not None
    paths = [window.capture.pcap, window.console.path, window.logcat.path]
    assert [path.parent for path in paths] == [tmp_path / "pcaps"] * 3
    assert [path.name for path in paths] == [
        "SI_1-boot-2-attempt2.pcap",
        "SI_1-boot-2-attempt2.console.txt",
        "SI_1-boot-2-attempt2.logcat.txt",
    ]
    assert window.record.pcap == window.capture.pcap


def test_a_console_that_cannot_be_opened_is_a_bench_fault_and_nothing_is_recorded(
    shipped: Rack, tmp_path: Path
) -> None:
    missing = tmp_path / "ttyUSB3"
    phone = unreachable(shipped.devices[0], SerialConsole(port=str(missing)))
    with (
        pytest.raises(BenchFault) as raised,
        CycleWindow(phone, Gateway("lo", tmp_path / "pcaps"), "unlock", 1),
    ):
        pytest.fail("the window must not open")
    message = str(raised.value)
    assert message.startswith(f"bench fault: console of SI…1: cannot open {missing}: ")
    assert "\n" not in message
    assert files(tmp_path / "pcaps") == []  # no logcat read, no capture started


def test_a_capture_that_cannot_start_stops_what_started_before_it(
    shipped: Rack, tmp_path: Path
) -> None:
    phone = unreachable(shipped.devices[2], None)  # SI_3: no console
    with (
        pytest.raises(CaptureStartError),
        CycleWindow(phone, Gateway("nosuchif0", tmp_path / "pcaps"), "idle", 1),
    ):
        pytest.fail("the window must not open")
    # The logcat recorder had started: it stopped and left its file, a note here.
    logcat = tmp_path / "pcaps" / "SI_3-idle-1.logcat.txt"
    assert files(tmp_path / "pcaps") == [logcat.name]
    assert logcat.read_text().startswith("# logcat not read at the end of the window: SI…3: ")
    assert stat.S_IMODE(logcat.stat().st_mode) == 0o600


@pytest.mark.live  # a real capture on loopback
def test_a_phone_that_fails_in_the_window_hands_over_every_file(
    shipped: Rack, tmp_path: Path
) -> None:
    console = SerialConsole(port=str(tmp_path / "ttyCONSOLE"))
    uart = VirtualUart(console)
    uart.start()
    phone = unreachable(shipped.devices[0], console)
    try:
        with (
            pytest.raises(CycleInterrupted) as raised,
            CycleWindow(phone, Gateway("lo", tmp_path / "pcaps"), "boot", 1),
        ):
            pytest.fail("the opening canary cannot be looked up: the window must not open")
    finally:
        uart.stop()
    record = raised.value.record
    assert [event.name for event in record.timeline] == [
        "capture_started", "canary", "capture_stopped", "interrupted",
    ]  # fmt: skip
    assert record.health is not None and not record.health.died
    folder = tmp_path / "pcaps"
    assert (record.pcap, record.console, record.logcat) == (
        folder / "SI_1-boot-1.pcap",
        folder / "SI_1-boot-1.console.txt",
        folder / "SI_1-boot-1.logcat.txt",
    )
    assert files(folder) == sorted(p.name for p in (record.pcap, record.console, record.logcat))
    for path in (record.pcap, record.console, record.logcat):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert record.console.read_text().startswith(f"# console {console.port} at 115200 baud")
    assert record.logcat.read_text().startswith("# logcat not read at the end of the window")
