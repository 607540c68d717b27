"""Where a cycle's evidence goes, and what its files are called.

Every file a window leaves (its pcap, the phone's console, its logcat) sits in
one folder, named by the phone's label (never its serial) and the window:
``SI_1-boot-2.pcap``, ``SI_1-boot-2.console.txt``, and
``SI_1-boot-2-attempt2.logcat.txt`` when the cycle runs again after a recovery.
"""

from __future__ import annotations

import re
from pathlib import Path

from benches.redaction.masks import device_file_label

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def evidence_path(directory: Path, serial: str, window: str, extension: str) -> Path:
    """`directory/<label>-<window>.<extension>`: the phone's label ("SI_1"), the window
    ("boot-2", "boot-2-attempt2"), what the file is ("pcap", "console.txt")."""
    stem = _UNSAFE.sub("_", f"{device_file_label(serial)}-{window}")
    return directory / f"{stem}.{extension}"
