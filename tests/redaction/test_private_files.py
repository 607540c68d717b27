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


def test_a_link_planted_at_the_name_is_replaced_and_its_target_left_alone(tmp_path: Path) -> None:
    """Root writes a pcap where a link to /etc/shadow waited: the link goes, the target stays."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$hash\n")
    secret.chmod(0o640)
    path = tmp_path / "reports" / "SI_1-boot-1.pcap"
    path.parent.mkdir()
    path.symlink_to(secret)
    descriptor = open_private(path)
    os.write(descriptor, b"pcap")
    os.close(descriptor)
    assert secret.read_text() == "root:$6$hash\n"
    assert mode(secret) == 0o640  # not chmod-ed through the link
    assert not path.is_symlink() and path.read_bytes() == b"pcap" and mode(path) == 0o600


def test_a_hard_link_at_the_name_is_replaced_not_emptied(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_text("someone else's")
    path = tmp_path / "SI_1-boot-1.logcat.txt"
    os.link(other, path)
    write_private_text(path, "log\n")
    assert other.read_text() == "someone else's" and path.read_text() == "log\n"


def test_no_temporary_file_is_left_beside_the_written_one(tmp_path: Path) -> None:
    write_private_text(tmp_path / "a.txt", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
