"""Owner-only files: the one writer that pcaps, consoles, logcat dumps and the evidence pack use."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from benches.redaction.private_files import open_private, write_private_text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_owner_only_and_its_folder_is_made(tmp_path: Path) -> None:
    path = tmp_path / "pcaps" / "build" / "SI_1-boot-1.logcat.txt"
    write_private_text(path, "IMEI 352098100123452\n")
    assert path.read_text() == "IMEI 352098100123452\n"
    assert mode(path) == 0o600


def test_a_file_that_was_there_is_emptied_and_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "SI_1-boot-1.pcap"
    path.write_text("an older, longer run's bytes")
    path.chmod(0o644)  # O_CREAT's mode would leave this as it is
    descriptor = open_private(path)
    try:
        os.write(descriptor, b"new")
    finally:
        os.close(descriptor)
    assert path.read_bytes() == b"new"
    assert mode(path) == 0o600
