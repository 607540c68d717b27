"""The `live` marker's guard (tests/conftest.py): an unmarked test meets what root-only needs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import adbutils
import pytest

from benches.rack.adb.server import ADB_ENV_VAR, AdbServer, AdbServerError

NOBODY = "127.99.0.1"  # no test serves here: a bind that got through would disturb no one


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_below_1024_is_refused_with_the_hint() -> None:
    with socket.socket() as sock, pytest.raises(PermissionError, match="mark it live"):
        sock.bind((NOBODY, 80))


def test_a_raw_socket_is_refused_with_the_hint() -> None:
    with pytest.raises(PermissionError, match="mark it live"):
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    with pytest.raises(PermissionError, match="mark it live"):
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)


def test_ordinary_sockets_still_work() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((NOBODY, 0))
        assert sock.getsockname()[1] >= 1024


def test_the_adb_server_is_refused_with_the_hint() -> None:
    server = AdbServer("127.0.0.1", free_port(), usb=False)
    try:
        with pytest.raises(AdbServerError, match="mark it live"):
            server.start()
    finally:
        server.kill()  # had the guard failed, no adb server outlives this test


def test_adbutils_would_start_the_same_adb() -> None:
    """adbutils starts `adb start-server` on port 5037 by itself when it finds no server."""
    assert adbutils.adb_path() == os.environ[ADB_ENV_VAR]


def test_a_sign_off_in_a_subprocess_meets_the_same_adb() -> None:
    start = "from benches.rack.adb.server import AdbServer; AdbServer(port=int(input())).start()"
    done = subprocess.run(
        [sys.executable, "-c", start],
        input=str(free_port()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "mark it live" in done.stderr, done.stderr


def test_other_threads_are_left_alone() -> None:
    """A live module-scoped fixture's servers keep running while an unmarked test runs."""
    errors: list[str] = []

    def open_raw() -> None:
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        except PermissionError as error:  # without root: the kernel's refusal, not ours
            errors.append(str(error))

    thread = threading.Thread(target=open_raw)
    thread.start()
    thread.join()
    assert not [error for error in errors if "mark it live" in error]


@pytest.mark.live
def test_a_live_test_is_not_guarded() -> None:
    assert "bench-not-live-" not in os.environ.get(ADB_ENV_VAR, "")
