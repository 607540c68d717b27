"""Copy a bench's files into the merged directory: plain files only, owner-only stays so.

A file readable by its owner alone (a pcap, the evidence pack) is written
owner-only (0600) from its first byte; others as the umask says. Links,
devices and pipes are not copied: followed, a link would copy a file from
anywhere into the merge; they are returned for one warning. Files are
streamed, so a large pcap costs its bytes on disk, not in memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from benches.redaction.safe_files import PRIVATE, PUBLIC, create_file, make_directories

CHUNK = 1 << 20
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def copy_tree(
    source: Path, target: Path, root: Path, *, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Copy ``source``'s plain files and folders into ``target`` (below ``root``); returns
    what was left out. Names in ``skip`` are left out at the top level, silently."""
    make_directories(target, root)
    left_out: list[str] = []
    with os.scandir(source) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                left_out += copy_tree(path, target / entry.name, root)
            elif entry.is_file(follow_symlinks=False):
                copy_file(path, target / entry.name, root)
            else:
                left_out.append(str(path))
    return left_out


def copy_file(source: Path, target: Path, root: Path) -> None:
    """``target`` becomes a copy of the plain file ``source``, owner-only when it was."""
    reader = os.open(source, _READ)
    try:
        found = os.fstat(reader)
        if not stat.S_ISREG(found.st_mode):
            raise OSError(f"{source}: not a plain file")
        mode = PRIVATE if found.st_mode & 0o077 == 0 else PUBLIC
        writer = create_file(target, root=root, mode=mode)
        try:
            while chunk := os.read(reader, CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(writer, view) :]
        finally:
            os.close(writer)
    finally:
        os.close(reader)


def private(path: Path) -> bool:
    return os.stat(path, follow_symlinks=False).st_mode & 0o077 == 0
