"""One owner at a time for a serial port that several processes of one session share.

A relay board switches phones that, in a parallel sign-off, run on different
pytest-xdist workers. Each worker opens the board's port for one transaction
while holding an exclusive `flock` on a lock file named after the port, and
closes it before letting go. Why a lock file rather than one process owning the
port and serving the others: nothing to start or stop, and the kernel drops
the lock of a process that dies however it dies (a SIGKILLed worker never
leaves a board locked). Relay transactions are a few per cycle, so opening the
port per transaction costs nothing that matters.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def port_lock_path(port: str) -> Path:
    """The lock file of `port` (a device path or a URL), the same for every process."""
    where = port if "://" in port else os.path.realpath(port)
    digest = hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"bench-port-{digest}.lock"


@contextlib.contextmanager
def port_owned(port: str) -> Iterator[None]:
    """Hold `port` for this process until the block ends (waits while another holds it)."""
    descriptor = os.open(port_lock_path(port), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the last descriptor drops the lock
