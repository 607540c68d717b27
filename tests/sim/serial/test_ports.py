"""The virtual rack's served serial ports: ptys, socket:// and rfc2217:// ports that
pyserial opens like real ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import serial

from benches.inventory.models import RelayBoard, RelayLink
from benches.rack.power import RelayBank
from benches.sim.serial.base import SerialServeError
from benches.sim.serial.ports import serve_port
from benches.sim.serial.pty_port import PtyPort
from tests.support.serial_rig import ByteSink, free_url, port_for

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


def test_pty_link_replaces_a_stale_link_and_goes_away(tmp_path: Path) -> None:
    link = tmp_path / "new" / "dir" / "ttyRELAY"
    link.parent.mkdir(parents=True)
    os.symlink("/dev/pts/999999", link)  # what a killed run leaves
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
    with pytest.raises(SerialServeError, match="not a link to a pty"):
        PtyPort(str(real), ByteSink(), "test port").start()
    assert real.read_text() == "a real device, say\n"


def test_pty_refuses_to_replace_a_link_to_anything_but_a_pty(tmp_path: Path) -> None:
    """A link to a real adapter (/dev/serial/by-id/...) or to a file is not the simulator's:
    it was replaced at start and unlinked at stop."""
    device = tmp_path / "ttyUSB0"
    device.write_text("a real adapter\n")
    link = tmp_path / "usb-1a86_USB_Serial-if00"
    link.symlink_to(device)
    with pytest.raises(SerialServeError) as refused:
        PtyPort(str(link), ByteSink(), "test port").start()
    assert "\n" not in str(refused.value)
    assert os.readlink(link) == str(device) and device.read_text() == "a real adapter\n"


def test_pty_never_removes_a_file_it_did_not_create(tmp_path: Path) -> None:
    """The temporary link's name was `.NAME.<pid>.tmp`, and whatever had that name went."""
    link = tmp_path / "ttyRELAY"
    theirs = tmp_path / f".ttyRELAY.{os.getpid()}.tmp"
    theirs.write_text("someone's file\n")
    served = PtyPort(str(link), ByteSink(), "test port")
    served.start()
    served.stop()
    assert theirs.read_text() == "someone's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [theirs.name]


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
