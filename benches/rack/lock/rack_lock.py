"""Taking every lock a rack needs, at once or waiting, and giving them to a child.

`lock_rack(rack)` opens one lock file per resource (benches.rack.lock.resources) in
the lock folder and flocks each, in one order all sessions share. When one is held,
the locks taken so far are let go and RackInUse says which resource is in use, by
whom and since when; with `wait`, it tries again until all are free, saying every
so often whom it waits on.

A child that is part of the same session (`bench signoff` runs a pytest session per
build) gets the open descriptors (`pass_fds=lock.fds`, `env=lock.child_env()`): its
own `lock_rack` finds them by INHERITED_FDS_ENV, checks each is the lock file it
wants (same device and inode) and holds it (flock on the same open file succeeds),
so it runs under its parent's lock. It never unlocks those: that is the parent's.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benches.inventory.models import Rack
from benches.rack.lock.directory import LockDirError, lock_dir
from benches.rack.lock.holder import Holder, read_holder
from benches.rack.lock.resources import Resource, adb_resource, rack_resources
from benches.redaction.printable import printable
from benches.redaction.rack_masker import RackMasker

INHERITED_FDS_ENV = "BENCH_LOCK_FDS"
POLL_S = 0.2  # how often a waiting session tries again
PROGRESS_EVERY_S = 30.0  # how often it says whom it waits on


class RackLockError(Exception):
    """The locks cannot be taken at all (the folder, a file); str() is one line."""


class RackInUse(RackLockError):
    """Another session holds a resource this one needs; str() is one line."""

    def __init__(self, message: str, resource: Resource) -> None:
        super().__init__(message)
        self.resource = resource


@dataclass
class _Held:
    resource: Resource
    fd: int
    inherited: bool


class RackLock:
    """The locks of one session on `resources`; `name` is the rack's, for messages (None
    when the session is on one resource, not a rack: `bench discover` on an adb server)."""

    def __init__(
        self,
        name: str | None,
        resources: Sequence[Resource],
        scrub: Callable[[str], str] = str,
    ) -> None:
        self.name = name
        self.scrub = scrub  # masks the rack's identifiers in the holder's command line
        # One order for every session (no two waiters each holding what the other
        # wants); the rack's own name first, so a second session on it is told so.
        self.resources = sorted(resources, key=lambda r: (r.kind != "rack", r.file_name))
        self._held: list[_Held] = []

    @property
    def held(self) -> bool:
        return bool(self._held)

    @property
    def fds(self) -> tuple[int, ...]:
        return tuple(held.fd for held in self._held)

    def child_env(self) -> dict[str, str]:
        return {INHERITED_FDS_ENV: ",".join(map(str, self.fds))}

    def acquire(
        self,
        *,
        wait: bool = False,
        report: Callable[[str], None] | None = None,
        every_s: float = PROGRESS_EVERY_S,
    ) -> None:
        """Hold every resource, or raise RackInUse (without `wait`) / RackLockError."""
        if self._held:
            return
        try:
            folder = lock_dir()
        except LockDirError as error:
            raise RackLockError(str(error)) from None
        said_at: float | None = None
        while True:
            try:
                self._take_all(folder)
                return
            except RackInUse as busy:
                if not wait:
                    raise
                now = time.monotonic()
                if report is not None and (said_at is None or now - said_at >= every_s):
                    report(f"waiting: {busy}")
                    said_at = now
            time.sleep(POLL_S)

    def release(self) -> None:
        """Let go of every lock this process took (the kernel would, at its death)."""
        for held in reversed(self._held):
            if not held.inherited:
                # The file stays, its holder goes: empty it before unlocking.
                with contextlib.suppress(OSError):
                    os.ftruncate(held.fd, 0)
                with contextlib.suppress(OSError):
                    fcntl.flock(held.fd, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                os.close(held.fd)
        self._held.clear()

    def __enter__(self) -> RackLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _take_all(self, folder: Path) -> None:
        inherited = _inherited_fds()
        holder = Holder.this_process(self.name or "", self.scrub).encoded()
        try:
            for resource in self.resources:
                self._held.append(self._take(folder / resource.file_name, resource, inherited))
                if not self._held[-1].inherited:
                    fd = self._held[-1].fd
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, holder, 0)
        except OSError as error:
            self.release()
            raise RackLockError(f"lock file in {folder}: {error.strerror or error}") from None
        except RackLockError:
            self.release()
            raise

    def _take(self, path: Path, resource: Resource, inherited: dict[tuple[int, int], int]) -> _Held:
        fd = inherited.get(_identity(path), -1)
        if fd >= 0 and _try_lock(fd):
            return _Held(resource, fd, inherited=True)
        fd = _open_lock_file(path)
        try:
            if _try_lock(fd):
                return _Held(resource, fd, inherited=False)
            holder = read_holder(fd)
        except RackLockError:
            os.close(fd)
            raise
        os.close(fd)
        raise RackInUse(self._in_use(resource, holder), resource)

    def _in_use(self, resource: Resource, holder: Holder | str) -> str:
        by = holder if isinstance(holder, str) else holder.describe()
        if isinstance(holder, Holder) and holder.rack and holder.rack != self.name:
            by += f", for rack {printable(holder.rack)}"
        if resource.kind == "rack" or self.name is None:
            return f"{resource.label} is in use by {by}"
        return f"rack {self.name}'s {resource.label} is in use by {by}"


def lock_rack(
    rack: Rack,
    *,
    wait: bool = False,
    report: Callable[[str], None] | None = None,
    every_s: float = PROGRESS_EVERY_S,
) -> RackLock:
    """The held lock on everything `rack` uses; RackInUse when a session holds any of it."""
    lock = RackLock(rack.bench.name, rack_resources(rack), RackMasker(rack).scrub)
    lock.acquire(wait=wait, report=report, every_s=every_s)
    return lock


def lock_adb_server(
    host: str,
    port: int,
    *,
    wait: bool = False,
    report: Callable[[str], None] | None = None,
    every_s: float = PROGRESS_EVERY_S,
) -> RackLock:
    """The held lock on one adb server (`bench discover` reads phones through it)."""
    lock = RackLock(None, [adb_resource(host, port)])
    lock.acquire(wait=wait, report=report, every_s=every_s)
    return lock


def _open_lock_file(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise RackLockError(f"{path}: a link where a lock file should be") from None
        raise RackLockError(f"{path}: cannot open it: {error.strerror or error}") from None
    info = os.fstat(fd)
    if info.st_uid == os.getuid():
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o666)  # another user's session locks it too, and says who it is
    return fd


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        raise RackLockError(f"cannot lock: {error.strerror or error}") from None
    return True


def _inherited_fds() -> dict[tuple[int, int], int]:
    """Descriptors a parent session passed down, by the file each is open on."""
    found: dict[tuple[int, int], int] = {}
    for word in os.environ.get(INHERITED_FDS_ENV, "").split(","):
        if not word.strip().isdigit():
            continue
        fd = int(word)
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        found[(info.st_dev, info.st_ino)] = fd
    return found


def _identity(path: Path) -> tuple[int, int]:
    try:
        info = os.lstat(path)
    except OSError:
        return (-1, -1)
    return (info.st_dev, info.st_ino)
