"""Copy a bench's files into the merged directory: plain files only, owner-only stays so.

A file readable by its owner alone, a pcap (its bytes hold the phones' raw
identifiers) and anything in an evidence pack are written owner-only (0600)
from their first byte, even when they come out of a CI artifact, which keeps
no modes; others as the umask says. Links,
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
EVIDENCE = "evidence"
RAW_SUFFIXES = frozenset({".pcap", ".pcapng"})
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def copy_tree(source: Path, target: Path, root: Path, *, owner_only: bool = False) -> list[str]:
    """Copy ``source``'s plain files and folders into ``target`` (below ``root``); returns
    what was left out. ``owner_only``: every file is (and, below, an ``evidence`` folder's)."""
    make_directories(target, root)
    left_out: list[str] = []
    with os.scandir(source) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                private = owner_only or entry.name == EVIDENCE
                left_out += copy_tree(path, target / entry.name, root, owner_only=private)
            elif entry.is_file(follow_symlinks=False):
                copy_file(path, target / entry.name, root, owner_only=owner_only)
            else:
                left_out.append(str(path))
    return left_out


def copy_file(source: Path, target: Path, root: Path, *, owner_only: bool = False) -> None:
    """``target`` becomes a copy of the plain file ``source``: owner-only when it was, when
    it is a pcap, or when ``owner_only``."""
    reader = os.open(source, _READ)
    try:
        found = os.fstat(reader)
        if not stat.S_ISREG(found.st_mode):
            raise OSError(f"{source}: not a plain file")
        raw = owner_only or source.suffix in RAW_SUFFIXES or found.st_mode & 0o077 == 0
        mode = PRIVATE if raw else PUBLIC
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
