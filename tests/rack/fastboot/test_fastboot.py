"""The virtual bootloader against the real `fastboot` binary, and its wire format itself.

Everything runs over real TCP on 127.0.72.0/24. The driver (benches/rack/fastboot/client.py)
runs the Debian `fastboot` 29 binary; `./run test` installs it when missing.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benches.rack.fastboot.client import (
    Fastboot,
    FlashError,
    find_fastboot_binary,
    last_meaningful_line,
)
from benches.sim.fastboot.server import FastbootServer

HOST = "127.0.72.1"
PORT = 5554
# Every test serves on HOST:PORT, so under xdist they run on one worker, one at a time.
pytestmark = pytest.mark.xdist_group("test_fastboot.py")
VARIABLES = {"product": "B2N_sprout", "serialno": "SIM7P0001", "version": "0.4"}


class Recorder:
    """The callbacks a virtual phone would give its bootloader."""

    def __init__(self) -> None:
        self.flashes: list[tuple[str, bytes]] = []
        self.reboots: list[str] = []

    def on_flash(self, partition: str, data: bytes) -> None:
        if partition == "vendor" and data == b"explode":
            raise RuntimeError("storage failure")
        self.flashes.append((partition, data))

    def on_reboot(self, target: str) -> None:
        self.reboots.append(target)


def make_server(recorder: Recorder, host: str = HOST, **options: int) -> FastbootServer:
    return FastbootServer(
        host, PORT, VARIABLES, on_flash=recorder.on_flash, on_reboot=recorder.on_reboot, **options
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """The bootloader answers a reboot before it runs on_reboot, so the host may be first."""
    deadline = time.monotonic() + 10  # a hang guard, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def binary() -> str:
    try:
        return find_fastboot_binary()
    except FlashError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[FastbootServer]:
    with make_server(recorder) as running:
        yield running


@pytest.fixture
def fastboot(server: FastbootServer, binary: str) -> Fastboot:
    return Fastboot(server.serial, timeout=30, binary=binary)


def test_getvar_through_the_real_binary(server: FastbootServer, fastboot: Fastboot) -> None:
    assert server.serial == f"tcp:{HOST}:{PORT}"
    assert fastboot.getvar("product") == "B2N_sprout"
    assert fastboot.getvar("max-download-size") == "0x10000000"
    assert server.commands[-1] == "getvar:max-download-size"
    assert "getvar:product" in server.commands


def test_unknown_variable_fails_as_a_bootloader_does(fastboot: Fastboot) -> None:
    # fastboot exits 0 here; the driver must still see the FAIL.
    with pytest.raises(FlashError, match="unknown variable") as caught:
        fastboot.getvar("no-such-thing")
    assert "\n" not in str(caught.value)


def test_devices_seen(fastboot: Fastboot, binary: str) -> None:
    assert fastboot.devices_seen()
    # Nothing listens there: fastboot waits "< waiting for ... >" until it is killed.
    absent = Fastboot(f"tcp:{HOST}:{PORT + 1}", binary=binary)
    assert not absent.devices_seen(timeout=1.0)
    # A USB serial that no bootloader has: `fastboot devices` does not list it.
    assert not Fastboot("NO-SUCH-USB-SERIAL", binary=binary).devices_seen()


def test_flash_writes_the_partition(
    server: FastbootServer, fastboot: Fastboot, recorder: Recorder, tmp_path: Path
) -> None:
    image = tmp_path / "system.img"
    image.write_bytes(bytes(range(256)) * 40 + b"tail")
    fastboot.flash("system", image)
    assert recorder.flashes == [("system", image.read_bytes())]
    assert server.flashed["system"] == image.read_bytes()
    assert f"download:{image.stat().st_size:08x}" in server.commands


def test_unknown_partition_is_the_devices_fail(
    server: FastbootServer, fastboot: Fastboot, recorder: Recorder, tmp_path: Path
) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(b"data")
    with pytest.raises(FlashError) as caught:
        fastboot.flash("modem", image)
    message = str(caught.value)
    assert "partition 'modem' does not exist" in message
    assert "\n" not in message
    assert recorder.flashes == [] and server.flashed == {}


def test_a_failing_write_fails_the_flash(
    server: FastbootServer, fastboot: Fastboot, tmp_path: Path
) -> None:
    image = tmp_path / "vendor.img"
    image.write_bytes(b"explode")
    with pytest.raises(FlashError, match="storage failure"):
        fastboot.flash("vendor", image)
    assert "vendor" not in server.flashed


def test_missing_image_file_is_one_line(fastboot: Fastboot, tmp_path: Path) -> None:
    with pytest.raises(FlashError, match=r"^image .*nothing\.img does not exist$"):
        fastboot.flash("system", tmp_path / "nothing.img")


def test_reboots(fastboot: Fastboot, recorder: Recorder, server: FastbootServer) -> None:
    fastboot.reboot_bootloader()
    fastboot.reboot()
    wait_for(lambda: len(recorder.reboots) == 2, "two reboots")
    assert recorder.reboots == ["bootloader", ""]
    assert server.commands[-2:] == ["reboot-bootloader", "reboot"]


def test_download_above_max_download_size_is_refused(recorder: Recorder, binary: str) -> None:
    with make_server(recorder, max_download_size=1024) as small, raw_session(small) as sock:
        assert command(sock, b"getvar:max-download-size") == b"OKAY0x00000400"
        assert command(sock, b"download:00000401").startswith(b"FAIL")
        assert command(sock, b"download:00000400") == b"DATA00000400"
        send_packet(sock, b"\0" * 1024)
        assert read_packet(sock) == b"OKAY"
        assert command(sock, b"flash:boot") == b"OKAY"
    assert recorder.flashes == [("boot", b"\0" * 1024)]


def test_flash_without_download_fails(server: FastbootServer) -> None:
    with raw_session(server) as sock:
        assert command(sock, b"flash:system") == b"FAILno image downloaded"
        assert command(sock, b"erase:cache") == b"OKAY"
        assert command(sock, b"oem unlock") == b"FAILunknown command"
        assert command(sock, b"getvar:has-slot:system") == b"OKAYno"
    assert server.erased == ["cache"]


@pytest.mark.parametrize("hello", [b"XX01", b"FB00", b"FBab", b"FB"])
def test_bad_handshake_drops_the_connection(server: FastbootServer, hello: bytes) -> None:
    with socket.create_connection((HOST, PORT), timeout=10) as sock:
        sock.sendall(hello)
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock) == b""  # closed without the FB01 answer


def test_oversized_command_drops_the_connection(server: FastbootServer) -> None:
    with raw_session(server) as sock:
        sock.sendall(struct.pack(">Q", 4097) + b"g" * 4097)
        assert read_all(sock) == b""
    with raw_session(server) as sock:  # and the next host is served as usual
        assert command(sock, b"getvar:product") == b"OKAYB2N_sprout"


def test_last_meaningful_line() -> None:
    output = (
        "Sending 'nope' (0 KB)            OKAY [  0.000s]\n"
        "Writing 'nope'                   FAILED (remote: 'no such partition')\n"
        "fastboot: error: Command failed\n"
    )
    assert last_meaningful_line(output) == "Writing 'nope' FAILED (remote: 'no such partition')"
    assert last_meaningful_line("\nFinished. Total time: 0.0s\n") == (
        "fastboot failed without a message"
    )


# -- fuzzing the parser ----------------------------------------------------------
def frame(payload: bytes) -> bytes:
    return struct.pack(">Q", len(payload)) + payload


commands = st.sampled_from(
    [b"getvar:", b"download:", b"flash:", b"erase:", b"reboot", b"continue", b"upload"]
)
framed = st.builds(lambda c, tail: frame(c + tail), commands, st.binary(max_size=24))
garbage = st.one_of(st.binary(max_size=64), framed, st.binary(min_size=8, max_size=8))


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[tuple[FastbootServer, Recorder]]:
    recorder = Recorder()
    with make_server(recorder, host="127.0.72.2", max_download_size=64) as running:
        yield running, recorder


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(garbage, min_size=1, max_size=6))
def test_random_bytes_never_kill_the_server(
    fuzz_server: tuple[FastbootServer, Recorder], chunks: list[bytes]
) -> None:
    server, _ = fuzz_server
    with raw_session(server) as sock:
        try:
            sock.sendall(b"".join(chunks))
            sock.shutdown(socket.SHUT_WR)
            read_all(sock)  # returns: the server drops the connection at the latest at EOF
        except TimeoutError:
            raise  # the server hung on these bytes
        except OSError:
            pass  # it dropped the connection while our bytes were still in flight
    with raw_session(server) as sock:
        assert command(sock, b"getvar:product") == b"OKAYB2N_sprout"
    assert server.internal_errors == 0


# -- a raw host ------------------------------------------------------------------
@contextlib.contextmanager
def raw_session(server: FastbootServer) -> Iterator[socket.socket]:
    """A TCP fastboot connection after the handshake."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"FB01")
        assert recv_exact(sock, 4) == b"FB01"
        yield sock


def send_packet(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(frame(payload))


def read_packet(sock: socket.socket) -> bytes:
    (size,) = struct.unpack(">Q", recv_exact(sock, 8))
    return recv_exact(sock, size)


def command(sock: socket.socket, text: bytes) -> bytes:
    send_packet(sock, text)
    return read_packet(sock)


def recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"connection closed after {len(data)} of {size} bytes"
        data += chunk
    return data


def read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes; a reset (it closed with our bytes unread) too."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data
