"""Files and folders the bench writes, made without following a symbolic link.

The bench runs as root and writes where people point it. The directory a
person named (``--reports``, the allure-results, a scratch folder the bench
made) is the *root*: it, and the path to it, are theirs to choose, links and
all. Below it nothing is followed:

- a link (or a file) where a folder should be is refused with one line
  (:class:`UnsafePath`); folders are walked by descriptor, so no link can be
  swapped in between the check and the use;
- a file is always a new one: written under a temporary name in its folder and
  renamed over its own name. A link or a hard link planted at the name is
  replaced, never written through, never ``chmod``-ed; a reader sees the old
  file or the whole new one, never half of it;
- an appended file (the verdict log) is opened without following a link and
  refused when it is not a plain file with one name (a hard link to another).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

PRIVATE = 0o600  # owner-only, whatever the umask
PUBLIC = 0o666  # as open() makes files: the umask decides

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_APPEND = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(OSError):
    """A path the bench will not write through; ``str()`` is one line naming it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(errno.ELOOP, reason, str(path))
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def make_directories(path: Path, root: Path) -> None:
    """``path`` and its missing folders below ``root``, following no link below ``root``."""
    os.close(_open_directory(Path(path), Path(root)))


def make_private_directory(path: Path, root: Path) -> None:
    """:func:`make_directories`, and ``path`` itself owner-only (0700), set through the
    descriptor of the folder it opened: never ``chmod``-ed through a link."""
    descriptor = _open_directory(Path(path), Path(root))
    try:
        os.fchmod(descriptor, 0o700)
    finally:
        os.close(descriptor)


def write_file(path: Path, data: bytes | str, *, root: Path, mode: int = PUBLIC) -> None:
    """``path`` holds ``data`` (str as UTF-8), replacing whatever file or link was there.

    Its folders below ``root`` are made as :func:`make_directories` makes them.
    With ``mode`` PRIVATE the file is owner-only from its first byte.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with _folder(Path(path), Path(root)) as (folder, name):
        temporary, descriptor = _new_file(folder, name, mode)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(payload)
            _rename(folder, temporary, name, Path(path))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise


def create_file(path: Path, *, root: Path, mode: int = PUBLIC) -> int:
    """A descriptor for writing a new, empty ``path`` (a pcap, a console), already in place.

    Whatever file or link was at ``path`` is replaced, not opened.
    """
    with _folder(Path(path), Path(root)) as (folder, name):
        temporary, descriptor = _new_file(folder, name, mode)
        try:
            _rename(folder, temporary, name, Path(path))
        except BaseException:
            os.close(descriptor)
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise
        return descriptor


def append_text(path: Path, text: str, *, root: Path, mode: int = PUBLIC) -> None:
    """Add ``text`` at the end of ``path`` in one write (lines from several processes stay
    whole); refused when ``path`` is a link or not a plain file of its own."""
    with _folder(Path(path), Path(root)) as (folder, name):
        try:
            descriptor = os.open(name, _APPEND, mode, dir_fd=folder)
        except OSError as error:
            raise _refusal(error, Path(path), folder, name, "a file") from None
        try:
            _check_plain(descriptor, Path(path))
            # O_APPEND puts each write at the end; the lock also keeps a write the kernel
            # splits (a full disk, a signal) from interleaving with another process's.
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            payload = text.encode("utf-8")
            # A line torn by a process that died mid-write would swallow this one:
            # start on a line of our own, so the torn line alone is lost.
            if payload.endswith(b"\n") and not _ends_a_line(descriptor):
                payload = b"\n" + payload
            written = os.write(descriptor, payload)
            if written != len(payload):
                raise OSError(
                    errno.ENOSPC, f"{path}: only {written} of {len(payload)} bytes written"
                )
        finally:
            os.close(descriptor)  # and with it the lock


def _ends_a_line(descriptor: int) -> bool:
    """Whether the file is empty or its last byte ends a line."""
    size = os.fstat(descriptor).st_size
    return size == 0 or os.pread(descriptor, 1, size - 1) == b"\n"


def read_file(path: Path) -> bytes:
    """The bytes of ``path``, which must be a plain file of its own, not a link."""
    try:
        descriptor = os.open(path, _READ)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafePath(
                path, "is a symbolic link; the bench reads no file through one"
            ) from None
        raise
    with os.fdopen(descriptor, "rb") as file:
        _check_plain(file.fileno(), Path(path))
        return file.read()


@contextlib.contextmanager
def _folder(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    folder = _open_directory(path.parent, root)
    try:
        yield folder, path.name
    finally:
        os.close(folder)


def _open_directory(path: Path, root: Path) -> int:
    """A descriptor of ``path``, made when missing; ``root`` is followed, nothing below it."""
    try:
        below = path.relative_to(root).parts
    except ValueError:
        raise ValueError(f"{path} is not inside {root}") from None
    os.makedirs(root, exist_ok=True)
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    walked = Path(root)
    try:
        for part in below:
            walked = walked / part
            if part in ("..", "."):
                raise UnsafePath(walked, "names a parent folder; the bench writes only below it")
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=folder)
            try:
                inner = os.open(part, _DIRECTORY, dir_fd=folder)
            except OSError as error:
                raise _refusal(error, walked, folder, part, "a folder") from None
            os.close(folder)
            folder = inner
    except BaseException:
        os.close(folder)
        raise
    return folder


def _new_file(folder: int, name: str, mode: int) -> tuple[str, int]:
    """A new file beside ``name``, under a name no one else uses: (its name, a descriptor)."""
    for _ in range(100):
        temporary = f".{name[:200]}.{os.urandom(6).hex()}.partial"
        try:
            descriptor = os.open(temporary, _NEW, mode, dir_fd=folder)
        except FileExistsError:
            continue
        if mode != PUBLIC:  # exactly this mode, whatever the umask
            os.fchmod(descriptor, mode)  # the descriptor is the new file, never a link
        return temporary, descriptor
    raise FileExistsError(errno.EEXIST, "no free temporary name", name)


def _rename(folder: int, temporary: str, name: str, path: Path) -> None:
    try:
        os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except IsADirectoryError:
        raise UnsafePath(path, "is a folder where the bench writes a file") from None


def _refusal(error: OSError, path: Path, folder: int, name: str, wanted: str) -> OSError:
    """The one-line error for a path that is not the ``wanted`` thing."""
    if error.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EISDIR):
        return error
    try:
        found = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return error
    if stat.S_ISLNK(found.st_mode):
        return UnsafePath(
            path, f"is a symbolic link where the bench expects {wanted}; it follows none"
        )
    return UnsafePath(path, f"is not {wanted}")


def _check_plain(descriptor: int, path: Path) -> None:
    found = os.fstat(descriptor)
    if not stat.S_ISREG(found.st_mode):
        raise UnsafePath(path, "is not a plain file")
    if found.st_nlink > 1:
        raise UnsafePath(path, "has other names (a hard link); the bench writes no shared file")
