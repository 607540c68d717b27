"""A relay board's port has one owner at a time across the processes of a session."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

from benches.rack.port_lock import port_lock_path

HOLDER = """
import sys, time
from benches.rack.port_lock import port_owned
with port_owned(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def _free(port: str) -> bool:
    descriptor = os.open(port_lock_path(port), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


def test_a_port_held_by_one_process_is_not_another_s_until_it_dies(tmp_path: Path) -> None:
    port = str(tmp_path / "ttyRELAY0")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, port], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert not _free(port)
        holder.send_signal(signal.SIGKILL)  # killed outright: the kernel drops its lock
        holder.wait(timeout=10)
        assert _free(port)
    finally:
        holder.kill()
        holder.wait()


def test_the_same_port_by_another_path_has_the_same_lock(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert port_lock_path(str(tmp_path / "real" / "tty")) == port_lock_path(
        str(tmp_path / "link" / "tty")
    )
    assert port_lock_path("rfc2217://127.0.7.1:7001") != port_lock_path("socket://127.0.7.1:7001")
