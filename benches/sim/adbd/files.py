"""A virtual phone's file tree as adbd serves it: paths mapped into a host folder, with
Android's write rules for the few places the bench writes.

`/data/local/tmp` is writable by the shell user; `/system` only once adbd runs
as root and `adb remount` made it writable (a userdebug build); the conscrypt
APEX (`/apex/...`) never, as on a phone (Android 14 reads its CAs from there).
"""

from __future__ import annotations

import os
import posixpath
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

    def host_path(self, device_path: str) -> Path:
        """Where `device_path` lives in the host folder; FileRefused outside the tree."""
        if not device_path.startswith("/") or "\0" in device_path:
            raise FileRefused(f"{device_path}: not an absolute path")
        normal = posixpath.normpath(device_path)
        return self.root / normal.lstrip("/")

    def stat(self, device_path: str) -> tuple[int, int, int]:
        """(mode, size, mtime); zeros when there is nothing there (as adbd's STAT says)."""
        try:
            info = self.host_path(device_path).lstat()
        except (OSError, ValueError):
            return 0, 0, 0
        kind = S_IFDIR if Path(self.host_path(device_path)).is_dir() else S_IFREG
        return kind | (info.st_mode & 0o7777), info.st_size, int(info.st_mtime)

    def check_writable(self, device_path: str) -> None:
        normal = posixpath.normpath(device_path)
        if normal.startswith("/data/local/tmp/"):
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
