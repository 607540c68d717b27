"""Where the lock files live.

BENCH_LOCK_DIR when set (tests give each session its own); else /run/lock/benches,
the system's lock folder that every user of the machine shares, when it exists or
can be made; else a folder of this user's own under the temp dir. The last one only
keeps a user's sessions apart: a machine whose benches several users drive needs
/run/lock writable (it is, world-writable and sticky, on systemd machines).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

LOCK_DIR_ENV = "BENCH_LOCK_DIR"
SYSTEM_LOCK_DIR = Path("/run/lock/benches")


class LockDirError(Exception):
    """The lock folder cannot be used; str() is one line."""


def lock_dir() -> Path:
    """The folder, made when missing; LockDirError when it cannot be used."""
    chosen = os.environ.get(LOCK_DIR_ENV)
    if chosen:
        return _made(Path(chosen), shared=False, why=f"{LOCK_DIR_ENV}={chosen}")
    if SYSTEM_LOCK_DIR.is_dir() or os.access(SYSTEM_LOCK_DIR.parent, os.W_OK | os.X_OK):
        return _made(SYSTEM_LOCK_DIR, shared=True, why="the system's lock folder")
    own = Path(tempfile.gettempdir()) / f"benches-lock-{os.getuid()}"
    folder = _made(own, shared=False, why="this user's lock folder")
    info = folder.lstat()
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o022:
        raise LockDirError(f"{folder}: lock folder not this user's own, or writable by others")
    return folder


def _made(folder: Path, *, shared: bool, why: str) -> Path:
    try:
        existed = folder.is_dir()
        folder.mkdir(mode=0o700, parents=not shared, exist_ok=True)
        if shared and not existed:
            # Every user's sessions lock here; sticky, as /tmp, so none removes another's.
            folder.chmod(0o1777)
    except OSError as error:
        raise LockDirError(f"{folder} ({why}): cannot use it: {error.strerror or error}") from None
    if folder.is_symlink() or not folder.is_dir():
        raise LockDirError(f"{folder} ({why}): not a folder")
    return folder
