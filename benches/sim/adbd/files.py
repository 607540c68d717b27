"""A virtual phone's file tree as adbd serves it: paths mapped into a host folder, with
Android's write rules for the few places the bench writes.

`/data/local/tmp` is writable by the shell user; `/system` only once adbd runs
as root and `adb remount` made it writable (a userdebug build); the conscrypt
APEX (`/apex/...`) never, as on a phone (Android 14 reads its CAs from there).

Mounts, as root: a tmpfs over a folder (a new empty, writable folder there) and
a bind mount of one folder over another. They live in RAM: a power loss or a
reboot drops them all. The virtual phone has one mount namespace (a bind mount
`nsenter`ed into zygote's shows in every app, which on a phone holds for apps
zygote forks afterwards).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE = 16 * 1024 * 1024  # what one push may write; more is not the bench's
S_IFREG = 0o100000
S_IFDIR = 0o040000


class FileRefused(OSError):
    """A push the phone refuses; the message is what adbd would say."""


@dataclass
class PhoneFiles:
    root: Path
    debuggable: bool = True
    adbd_root: bool = False  # `adb root` restarted adbd as root
    system_writable: bool = False  # `adb remount`
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Mount point (a normal device path) -> (host folder, writable).
    _mounts: dict[str, tuple[Path, bool]] = field(default_factory=dict)
    _tmpfs_count: int = 0

    def host_path(self, device_path: str) -> Path:
        """Where `device_path` lives in the host folder (through the mounts); FileRefused
        outside the tree."""
        normal = _normal(device_path)
        mount = self._mount_of(normal)
        if mount is None:
            return self.root / normal.lstrip("/")
        point, (folder, _) = mount
        rest = normal[len(point) :].lstrip("/")
        return folder / rest if rest else folder

    def _mount_of(self, normal: str) -> tuple[str, tuple[Path, bool]] | None:
        with self._lock:
            mounts = dict(self._mounts)
        best = None
        for point, target in mounts.items():
            if (normal == point or normal.startswith(point + "/")) and (
                best is None or len(point) > len(best[0])
            ):
                best = (point, target)
        return best

    def mount_tmpfs(self, device_path: str) -> None:
        normal = _normal(device_path)
        if not self.host_path(normal).is_dir():
            raise FileRefused(f"mount: '{normal}': No such file or directory")
        with self._lock:
            self._tmpfs_count += 1
            folder = self.root.parent / f".{self.root.name}-tmpfs" / str(self._tmpfs_count)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(mode=0o700, parents=True)
        with self._lock:
            self._mounts[normal] = (folder, True)

    def mount_bind(self, source: str, target: str) -> None:
        folder = self.host_path(source)
        normal = _normal(target)
        if not folder.is_dir() or not self.host_path(normal).is_dir():
            raise FileRefused(f"mount: bind {source} on {normal}: No such file or directory")
        writable = self._writable_mount(_normal(source))
        with self._lock:
            self._mounts[normal] = (folder, writable)

    def unmount_all(self) -> None:
        """RAM is gone (a power loss, a reboot): so are the mounts."""
        with self._lock:
            self._mounts.clear()

    def _writable_mount(self, normal: str) -> bool:
        mount = self._mount_of(normal)
        return mount is not None and mount[1][1]

    def list(self, device_path: str) -> list[str]:
        folder = self.host_path(device_path)
        try:
            return sorted(
                entry.name for entry in folder.iterdir() if not entry.name.startswith(".")
            )
        except OSError:
            raise FileRefused(f"ls: {device_path}: No such file or directory") from None

    def copy(self, source: str, target: str) -> None:
        """`cp SOURCE TARGET` (TARGET a folder or a file), as root."""
        data_path = self.host_path(source)
        try:
            data = data_path.read_bytes()
        except OSError:
            raise FileRefused(f"cp: {source}: No such file or directory") from None
        destination = _normal(target)
        if self.host_path(destination).is_dir():
            destination = posixpath.join(destination, posixpath.basename(_normal(source)))
        self.write(destination, data, 0o644)

    def stat(self, device_path: str) -> tuple[int, int, int]:
        """(mode, size, mtime); zeros when there is nothing there (as adbd's STAT says)."""
        try:
            info = self.host_path(device_path).lstat()
        except (OSError, ValueError):
            return 0, 0, 0
        kind = S_IFDIR if Path(self.host_path(device_path)).is_dir() else S_IFREG
        return kind | (info.st_mode & 0o7777), info.st_size, int(info.st_mtime)

    def check_writable(self, device_path: str) -> None:
        normal = _normal(device_path)
        if normal.startswith("/data/local/tmp/"):
            return
        if self._writable_mount(normal):  # a tmpfs (or a bind of one): root writes there
            if not self.adbd_root:
                raise FileRefused(f"remote couldn't create file: Permission denied: {normal}")
            return
        if normal.startswith("/system/"):
            if not self.adbd_root:
                raise FileRefused(f"remote couldn't create file: Permission denied: {normal}")
            if not self.system_writable:
                raise FileRefused(f"remote couldn't create file: Read-only file system: {normal}")
            return
        raise FileRefused(f"remote couldn't create file: Read-only file system: {normal}")

    def write(self, device_path: str, data: bytes, mode: int) -> None:
        self.check_writable(device_path)
        target = self.host_path(device_path)
        with self._lock:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.push")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
            os.chmod(temporary, mode & 0o777)
            os.replace(temporary, target)


def _normal(device_path: str) -> str:
    if not device_path.startswith("/") or "\0" in device_path:
        raise FileRefused(f"{device_path}: not an absolute path")
    return posixpath.normpath(device_path)
