"""Files only the bench's owner may read: pcaps, consoles, logcat dumps, the evidence pack.

They hold (or may hold) the phones' raw identifiers, so they are owner-only
(0600) from their first byte, also when a file of that name was there before
(``O_CREAT``'s mode applies only to a new file).
"""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600


def open_private(path: Path) -> int:
    """A descriptor for writing ``path`` from empty, owner-only; its folder must exist."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    os.fchmod(descriptor, OWNER_ONLY)
    return descriptor


def write_private_text(path: Path, text: str) -> None:
    """``path`` holds ``text`` (UTF-8), owner-only; its folder is made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(open_private(path), "w", encoding="utf-8") as file:
        file.write(text)
