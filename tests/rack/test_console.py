"""Console recording: a virtual phone's UART on a real pty (or loopback TCP), read by
pyserial, written to a timestamped file."""

from __future__ import annotations

import re
import stat
import threading
from datetime import datetime
from pathlib import Path

import pytest
import serial

from benches.inventory import load_rack
from benches.inventory.models import SerialConsole
from benches.rack.console import ConsoleError, ConsoleRecorder, LineSplitter
from benches.redaction.masks import SHOW_IDENTIFIERS_ENV
from benches.redaction.rack_masker import forget_rack, use_rack
from benches.sim.uart import VirtualUart
from tests.support.rackfiles import SHIPPED_RACK
from tests.support.serial_rig import free_url, port_for, wait_until

HOST = "127.0.71.20"
# pyserial's RFC 2217 client uses threading calls Python deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:serial.rfc2217")
LINE = re.compile(r"^ *(\d+\.\d{3}) (\S+) (.*)$")


def recorded(path: Path) -> tuple[str, list[tuple[float, datetime, str]]]:
    header, *rest = path.read_text(encoding="utf-8").split("\n")
    assert rest[-1] == ""  # the file ends with a line end
    lines = []
    for text in rest[:-1]:
        match = LINE.match(text)
        assert match, text
        lines.append((float(match[1]), datetime.fromisoformat(match[2]), match[3]))
    return header, lines


@pytest.mark.parametrize("kind", ["pty", "rfc2217"])
def test_recorder_keeps_every_line_with_its_time(kind: str, tmp_path: Path) -> None:
    console = SerialConsole(port=port_for(kind, tmp_path, HOST, "ttyCONSOLE"))
    uart = VirtualUart(console)
    uart.start()
    recorder = ConsoleRecorder(console, tmp_path / "out" / "console.log")
    try:
        recorder.start()
        uart.write_line("[    0.000000] Booting Linux on physical CPU 0x0")
        uart.write_line("init: starting service 'adbd'...")
        if kind == "pty":
            # A prompt with no line end yet: the pty holds it when stop() drains the port.
            uart.write("console:/ $ ")
        else:
            # Over TCP the bytes may still be crossing when stop() drains; end the line.
            uart.write_line("console:/ $ ")
            assert wait_until(lambda: recorder.lines == 3)
        recorder.stop()
    finally:
        uart.stop()
    [path] = recorder.excerpts()
    assert path == tmp_path / "out" / "console.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    header, lines = recorded(path)
    assert header.startswith(f"# console {console.port} at 115200 baud, started ")
    assert [text for *_, text in lines] == [
        "[    0.000000] Booting Linux on physical CPU 0x0",
        "init: starting service 'adbd'...",
        "console:/ $ ",
    ]
    elapsed = [seconds for seconds, _, _ in lines]
    walls = [wall for _, wall, _ in lines]
    assert elapsed == sorted(elapsed) and walls == sorted(walls)
    assert recorder.started_at is not None and recorder.error is None
    start = datetime.fromtimestamp(recorder.started_at, walls[0].tzinfo)
    assert all(abs((wall - start).total_seconds() - s) < 0.002 for s, wall, _ in lines)


def test_undecodable_bytes_are_replaced_and_the_file_is_made_private(tmp_path: Path) -> None:
    console = SerialConsole(port=str(tmp_path / "ttyCONSOLE"))
    out = tmp_path / "console.log"
    out.write_text("an older recording\n")
    out.chmod(0o644)
    uart = VirtualUart(console)
    uart.start()
    recorder = ConsoleRecorder(console, out)
    try:
        recorder.start()
        uart.write_bytes(b"bad \xff\xfe bytes\r\nsplit \xe2\x82")
        uart.write_bytes(b"\xac across writes\n")
        recorder.stop()
    finally:
        uart.stop()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    _, lines = recorded(out)
    assert [text for *_, text in lines] == ["bad \ufffd\ufffd bytes", "split € across writes"]


def test_a_console_that_goes_away_ends_the_recording_with_a_reason(tmp_path: Path) -> None:
    console = SerialConsole(port=str(tmp_path / "ttyCONSOLE"))
    uart = VirtualUart(console)
    uart.start()
    recorder = ConsoleRecorder(console, tmp_path / "console.log")
    recorder.start()
    uart.write_line("last words")
    assert wait_until(lambda: recorder.lines == 1)
    uart.stop()  # the adapter is unplugged
    assert wait_until(lambda: recorder.error is not None)
    recorder.stop()
    [path] = recorder.excerpts()
    assert recorder.error is not None and "\n" not in recorder.error
    text = path.read_text()
    assert "last words" in text and "# recording ended early: " in text


def test_unopenable_console_is_one_line(tmp_path: Path) -> None:
    for port in (str(tmp_path / "ttyUSB3"), free_url("socket", HOST)):
        recorder = ConsoleRecorder(SerialConsole(port=port), tmp_path / "c.log", owner="console P1")
        with pytest.raises(ConsoleError) as raised:
            recorder.start()
        recorder.stop()  # never raises, even when nothing started
        assert recorder.excerpts() == []
        message = str(raised.value)
        assert "\n" not in message and message.startswith(f"console P1: cannot open {port}: ")
        assert not (tmp_path / "c.log").exists()


def test_the_uart_never_blocks_the_phone(tmp_path: Path) -> None:
    console = SerialConsole(port=str(tmp_path / "ttyCONSOLE"))
    uart = VirtualUart(console)
    uart.start()
    try:
        with serial.Serial(console.port, console.baud) as opened_but_never_read:
            assert opened_but_never_read.is_open
            # Far more than a pty buffers: a blocking write would never return.
            printer = threading.Thread(
                target=lambda: [uart.write_line("x" * 1000) for _ in range(2000)]
            )
            printer.start()
            printer.join(timeout=60)
            assert not printer.is_alive()
        uart.write_line("no one listens now")
    finally:
        uart.stop()


def test_a_console_at_the_wrong_baud_reads_as_garbage(tmp_path: Path) -> None:
    console = SerialConsole(port=str(tmp_path / "ttyCONSOLE"), baud=115200)
    uart = VirtualUart(console)
    uart.start()
    recorder = ConsoleRecorder(SerialConsole(port=console.port, baud=9600), tmp_path / "c.log")
    try:
        recorder.start()
        uart.write_line("Booting Linux")
        recorder.stop()
    finally:
        uart.stop()
    [path] = recorder.excerpts()
    assert "Booting" not in path.read_text().split("\n", 1)[1]


def test_line_splitter_times_a_line_by_its_first_byte() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"first\r", 1.0) == []
    assert splitter.feed(b"\nsecond", 2.0) == [(1.0, "first")]
    assert splitter.feed(b" half\r\n\r\nthird", 3.0) == [(2.0, "second half"), (3.0, "")]
    assert splitter.flush() == [(3.0, "third")]
    assert splitter.flush() == []


def test_the_recording_is_masked_when_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real UART prints the serial (androidboot.serialno=...): the file is evidence."""
    monkeypatch.delenv(SHOW_IDENTIFIERS_ENV, raising=False)
    console = SerialConsole(port=str(tmp_path / "ttyCONSOLE"))
    uart = VirtualUart(console)
    uart.start()
    use_rack(load_rack(SHIPPED_RACK))
    recorder = ConsoleRecorder(console, tmp_path / "console.log")
    try:
        recorder.start()
        uart.write_line("[    0.000000] Kernel command line: androidboot.serialno=SIM7P0001")
        assert wait_until(lambda: recorder.lines == 1)
        recorder.stop()
    finally:
        uart.stop()
        forget_rack()
    [path] = recorder.excerpts()
    text = path.read_text()
    assert "androidboot.serialno=SI…1" in text and "SIM7P0001" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
