"""Holders of a rack lock in their own processes, for the lock's tests: real flock(2)
locks in a real process that the test can kill however it likes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.paths import REPO

# Takes the rack's lock (or only an adb server's), says so, then waits for the end.
HOLDER = """
import sys, time
from pathlib import Path
from benches.inventory import load_rack
from benches.rack.lock import lock_adb_server, lock_rack
kind, target = sys.argv[1], sys.argv[2]
if kind == "rack":
    lock = lock_rack(load_rack(Path(target)))
else:
    host, port = target.rsplit(":", 1)
    lock = lock_adb_server(host, int(port))
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin, or kills us
"""


def lock_env(lock_dir: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "BENCH_LOCK_DIR": str(lock_dir), **more}


@contextmanager
def holder(
    lock_dir: Path, devices: Path | None = None, adb: str | None = None
) -> Iterator[subprocess.Popen[str]]:
    """A process holding `devices`' rack (or the adb server `adb`) until the block ends."""
    kind, target = ("rack", str(devices)) if devices is not None else ("adb", str(adb))
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, kind, target],
        cwd=REPO,
        env=lock_env(lock_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until it holds the lock, or has failed
        if line != "held\n":
            _, errors = process.communicate(timeout=60)
            raise AssertionError(f"the holder did not take the lock: {line}{errors}")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)
