"""What a test may do only when it is marked `live` (tests/conftest.py applies this).

`pytest -m "not live"` is the quick loop that runs without root, so a test
without the marker must not need root, raw sockets or the adb server. CI runs
every test as root, where such a test would pass anyway; so the test runs as an
unprivileged user without an adb server would, whoever runs it, and fails with
a message that says to mark it live:

- binding a port below 1024 (the virtual rack's DNS/HTTP/TLS endpoints) and
  opening a raw or packet socket raise PermissionError, as they do for a user
  without root; only in the test's own thread, so the servers of a live
  module-scoped fixture keep working while a test beside it runs;
- `$BENCH_ADB` (the bench's choice of adb) and `$ADBUTILS_ADB_PATH` (the adb
  that adbutils starts by itself, on port 5037, when it finds no server) name a
  stand-in adb that refuses every command, so starting an adb server fails, in
  the test's process and in the sign-off runs it starts as subprocesses (they
  inherit the environment).

The capture's sniffer is a subprocess that no guard here reaches. A cycle or a
sign-off that captures also needs the adb server, where the stand-in stops it;
tests/capture/ starts the sniffer alone and is marked live as a whole.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from benches.rack.adb.server import ADB_ENV_VAR

# adbutils' own knob: its adb_path() reads it before $PATH and its bundled binary.
ADBUTILS_ADB_ENV_VAR = "ADBUTILS_ADB_PATH"
HINT = "mark it live (@pytest.mark.live, or pytestmark = pytest.mark.live for the module)"

_ADB_STAND_IN = f"""#!/bin/sh
echo "adb $*: this test runs the adb binary: {HINT}" >&2
exit 1
"""


def write_adb_stand_in(directory: Path) -> Path:
    """An executable that answers every adb command with the hint and exit code 1."""
    path = directory / "adb"
    path.write_text(_ADB_STAND_IN)
    path.chmod(0o755)
    return path


def _privileged_port(family: int, address: object) -> int | None:
    if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return None
    port = address[1]
    return port if isinstance(port, int) and 0 < port < 1024 else None


def _raw(family: int, kind: int) -> bool:
    # The low bits are the type; SOCK_NONBLOCK and SOCK_CLOEXEC are flags above them.
    return family == getattr(socket, "AF_PACKET", None) or kind & 0xF == socket.SOCK_RAW


@contextmanager
def not_live(adb_stand_in: Path) -> Iterator[None]:
    """Within: no privileged port, no raw socket, no adb, for the calling thread."""
    test_thread = threading.current_thread()
    real_init = socket.socket.__init__
    real_bind = socket.socket.bind

    def init(self: socket.socket, family: int = -1, type: int = -1, *args: Any, **kw: Any) -> None:
        fileno = args[1] if len(args) > 1 else kw.get("fileno")
        if fileno is None and threading.current_thread() is test_thread and _raw(family, type):
            raise PermissionError(errno.EPERM, f"a raw socket needs CAP_NET_RAW: {HINT}")
        real_init(self, family, type, *args, **kw)

    def bind(self: socket.socket, address: Any) -> None:
        port = _privileged_port(self.family, address)
        if port is not None and threading.current_thread() is test_thread:
            raise PermissionError(errno.EACCES, f"port {port} is below 1024, for root: {HINT}")
        real_bind(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "__init__", init)
        patch.setattr(socket.socket, "bind", bind)
        patch.setenv(ADB_ENV_VAR, str(adb_stand_in))
        patch.setenv(ADBUTILS_ADB_ENV_VAR, str(adb_stand_in))
        yield
