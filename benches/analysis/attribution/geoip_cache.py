"""Where the bench keeps its :class:`~.geoip_table.GeoipTable` of geoip2fast's data.

One file a data file, under ``$XDG_CACHE_HOME/benches`` (``~/.cache/benches``
when unset): made by the first process that loads geoip2fast's own reader
(:func:`store`), read by the next ones (:func:`load`). Nothing is downloaded:
the table is a copy of the installed package's data.

A table is used only when it is certainly the data geoip2fast would read now:

- its key names the data file as geoip2fast finds it (the working folder
  first, then the package's folder, as the reader looks), with that file's
  size, times and inode, and the reader's own code file (its answers are what
  the table copies), so an upgrade, an edit or another file makes it stale;
- the file is a plain file of this user's, writable by no one else, opened
  without following a link (the bench runs as root: a planted table would
  decide countries);
- its CRC-32 and lengths hold (:meth:`GeoipTable.decode`).

Anything else (missing, stale, truncated, corrupt, someone else's) is no
table: the caller loads geoip2fast as before and writes a new one. Writing is
atomic (a temporary file renamed over the name, :mod:`benches.redaction.safe_files`),
so a reader sees a whole table or none, and a failed write only costs the
next process the slow load again. One process at a time makes a table (a lock
file beside it); the others do not wait for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import stat
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benches.analysis.attribution.geoip_table import GeoipTable, TableError, encode, key_fields

_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_LOCK = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
_MODE = 0o644
_LARGEST = 1 << 28  # no table is near this; a larger file is not read


def load(data_file: str) -> GeoipTable | None:
    """The table of the data geoip2fast would load for ``data_file``, when a usable one is
    kept; None otherwise (never raises)."""
    try:
        key = data_key(data_file)
        path = table_path(key)
        if key is None or path is None:
            return None
        data = _mapped_own(path)
        return None if data is None else GeoipTable.decode(data, key)
    except (OSError, TableError, ValueError):
        return None


def store(reader: Any, key: dict[str, Any] | None) -> None:
    """Keep the table of a loaded geoip2fast ``reader`` under ``key``, taken before the
    reader loaded (:func:`data_key`): when the data file changed meanwhile, or the
    reader read another file than the key names, nothing is kept. Never raises."""
    if key is None or data_key_of(Path(getattr(reader, "_database_path", ""))) != key:
        return
    path = table_path(key)
    if path is None:
        return
    with contextlib.suppress(Exception):  # a copy that cannot be made: the next load is slow
        from benches.redaction.safe_files import make_directories, write_file

        make_directories(path.parent, path.parent.parent)
        with _maker(path) as alone:
            if alone and not _usable(path, key):  # not made meanwhile by another process
                write_file(path, encode(reader, key), root=path.parent.parent, mode=_MODE)


def _usable(path: Path, key: dict[str, Any]) -> bool:
    data = _mapped_own(path)
    if data is None:
        return False
    try:
        GeoipTable.decode(data, key)
    except TableError:
        return False
    return True


@contextlib.contextmanager
def _maker(path: Path) -> Iterator[bool]:
    """Whether this process is the one that makes ``path`` now: the sign-off starts a worker
    per phone at once, and on a fresh machine each would make the same table (a third of
    a second and tens of megabytes each). The others go on with the reader they loaded."""
    descriptor = os.open(f"{path}.lock", _LOCK, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)  # and with it the lock


def data_key(data_file: str) -> dict[str, Any] | None:
    """What a table of ``data_file`` must match: the file geoip2fast would open for that
    name now, its identity and the reader's code file; None when there is no such file."""
    located = locate(data_file)
    return None if located is None else data_key_of(located)


def data_key_of(path: Path) -> dict[str, Any] | None:
    try:
        data = os.stat(path)
        code = os.stat(_package_folder() / "geoip2fast.py")
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(data.st_mode):
        return None
    return {
        **key_fields(),
        "data": [str(path), data.st_size, data.st_mtime_ns, data.st_ctime_ns, data.st_ino],
        "reader": [code.st_size, code.st_mtime_ns, code.st_ctime_ns, code.st_ino],
    }


def locate(data_file: str) -> Path | None:
    """The file geoip2fast opens for ``geoip2fast_data_file=data_file``: the name as given
    when it is a file, else (a bare name) the working folder's, else the package's."""
    if not data_file:
        return None
    if os.path.isfile(data_file):
        chosen = Path(data_file)
    elif "/" in data_file:
        return None
    else:
        here = Path(os.path.abspath(os.curdir)) / data_file
        if os.path.exists(here):
            return None  # not a file: the reader fails on it, and so it should
        chosen = _package_folder() / data_file
    return Path(os.path.realpath(chosen)) if os.path.isfile(chosen) else None


def table_path(key: dict[str, Any] | None) -> Path | None:
    """Where the table of ``key``'s data file is kept (one file a data file)."""
    if key is None:
        return None
    folder = _cache_folder()
    if folder is None:
        return None
    name = hashlib.sha256(str(key["data"][0]).encode("utf-8", "surrogateescape")).hexdigest()
    return folder / "benches" / f"geoip2fast-{name[:24]}.table"


def _cache_folder() -> Path | None:
    configured = os.environ.get("XDG_CACHE_HOME", "")
    if configured and os.path.isabs(configured):
        return Path(configured)
    try:
        return Path.home() / ".cache"
    except (RuntimeError, KeyError):
        return None


def _package_folder() -> Path:
    spec = find_spec("geoip2fast")
    if spec is None or spec.origin is None:
        raise ValueError("geoip2fast is not installed")
    return Path(spec.origin).parent


def _mapped_own(path: Path) -> mmap.mmap | None:
    """``path`` mapped read-only when it is a plain file of this user's that no one else
    may write, opened without following a link; None otherwise. The table is read in
    place: a rename over it (the only way the bench changes it) leaves this mapping be."""
    try:
        descriptor = os.open(path, _READ)
    except OSError:
        return None
    try:
        found = os.fstat(descriptor)
        if (
            not stat.S_ISREG(found.st_mode)
            or found.st_uid != os.geteuid()
            or found.st_mode & 0o022
            or found.st_nlink != 1
            or not 0 < found.st_size <= _LARGEST
        ):
            return None
        return mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(descriptor)
