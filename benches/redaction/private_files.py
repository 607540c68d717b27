"""Files only the bench's owner may read: pcaps, consoles, logcat dumps, the evidence pack.

They hold (or may hold) the phones' raw identifiers, so they are owner-only
(0600) from their first byte. Each is a new file (:mod:`safe_files`): a file,
a link or a hard link left at its name is replaced, never written through.
"""

from __future__ import annotations

from pathlib import Path

from benches.redaction.safe_files import PRIVATE, create_file, write_file

OWNER_ONLY = PRIVATE


def open_private(path: Path) -> int:
    """A descriptor for writing a new ``path``, owner-only; its folder must exist."""
    path = Path(path)
    return create_file(path, root=path.parent, mode=OWNER_ONLY)


def write_private_text(path: Path, text: str, root: Path | None = None) -> None:
    """``path`` holds ``text`` (UTF-8), owner-only; its folders below ``root`` (by default
    its own folder) are made when missing, following no link."""
    path = Path(path)
    write_file(path, text, root=path.parent if root is None else Path(root), mode=OWNER_ONLY)
