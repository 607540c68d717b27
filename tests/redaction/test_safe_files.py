"""Writes that follow no link below the directory a person named (real files, real links)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from benches.redaction.safe_files import (
    PRIVATE,
    UnsafePath,
    append_text,
    create_file,
    make_directories,
    make_private_directory,
    read_file,
    write_file,
)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder the bench must never write into: it stands for /etc."""
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "passwd").write_text("root:x:0:0\n")
    return folder


def test_a_link_where_a_folder_should_be_is_refused_in_one_line(
    tmp_path: Path, outside: Path
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "pcaps").symlink_to(outside)
    with pytest.raises(UnsafePath) as refused:
        make_directories(reports / "pcaps" / "BUILD", reports)
    assert str(refused.value) == (
        f"{reports / 'pcaps'}: is a symbolic link where the bench expects a folder; it follows none"
    )
    assert sorted(p.name for p in outside.iterdir()) == ["passwd"]


def test_a_file_write_through_a_linked_folder_is_refused(tmp_path: Path, outside: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "signoff").mkdir(parents=True)
    (reports / "signoff" / "BUILD").symlink_to(outside)
    with pytest.raises(UnsafePath):
        write_file(reports / "signoff" / "BUILD" / "passwd", "owned\n", root=reports)
    assert (outside / "passwd").read_text() == "root:x:0:0\n"


def test_the_root_itself_may_be_a_link_a_person_made(tmp_path: Path) -> None:
    real = tmp_path / "big-disk"
    real.mkdir()
    (tmp_path / "reports").symlink_to(real)
    write_file(
        tmp_path / "reports" / "signoff" / "B" / "summary.json", "{}\n", root=tmp_path / "reports"
    )
    assert (real / "signoff" / "B" / "summary.json").read_text() == "{}\n"


def test_a_link_at_a_file_name_is_replaced_atomically(tmp_path: Path, outside: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "index.html").symlink_to(outside / "passwd")
    write_file(reports / "index.html", "<html>", root=reports)
    assert (outside / "passwd").read_text() == "root:x:0:0\n"
    assert not (reports / "index.html").is_symlink()
    assert (reports / "index.html").read_text() == "<html>"


def test_a_folder_at_a_file_name_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "summary.json").mkdir()
    with pytest.raises(UnsafePath, match="is a folder where the bench writes a file"):
        write_file(tmp_path / "summary.json", "{}", root=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_parent_steps_below_the_root_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePath, match="names a parent folder"):
        write_file(tmp_path / "reports" / ".." / ".." / "x", "x", root=tmp_path / "reports")


def test_a_private_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        descriptor = create_file(tmp_path / "a.pcap", root=tmp_path, mode=PRIVATE)
    finally:
        os.umask(previous)
    os.close(descriptor)
    assert stat.S_IMODE((tmp_path / "a.pcap").stat().st_mode) == 0o600


def test_appending_through_a_link_or_a_hard_link_is_refused(tmp_path: Path, outside: Path) -> None:
    verdicts = tmp_path / "reports" / "verdicts"
    verdicts.mkdir(parents=True)
    (verdicts / "B.jsonl").symlink_to(outside / "passwd")
    with pytest.raises(UnsafePath, match="symbolic link"):
        append_text(verdicts / "B.jsonl", "{}\n", root=tmp_path / "reports")
    (verdicts / "B.jsonl").unlink()
    os.link(outside / "passwd", verdicts / "B.jsonl")
    with pytest.raises(UnsafePath, match="hard link"):
        append_text(verdicts / "B.jsonl", "{}\n", root=tmp_path / "reports")
    assert (outside / "passwd").read_text() == "root:x:0:0\n"


def test_appending_adds_whole_lines(tmp_path: Path) -> None:
    for line in ("a\n", "b\n"):
        append_text(tmp_path / "v" / "B.jsonl", line, root=tmp_path)
    assert (tmp_path / "v" / "B.jsonl").read_text() == "a\nb\n"


def test_reading_through_a_link_is_refused(tmp_path: Path, outside: Path) -> None:
    (tmp_path / "environment.properties").symlink_to(outside / "passwd")
    with pytest.raises(UnsafePath, match="symbolic link"):
        read_file(tmp_path / "environment.properties")


def test_a_line_appended_after_a_torn_one_stays_whole(tmp_path: Path) -> None:
    """A process killed mid-write leaves half a line: the next verdict must not join it."""
    log = tmp_path / "v.jsonl"
    log.write_bytes(b'{"whole": 1}\n{"torn": ')
    append_text(log, '{"next": 2}\n', root=tmp_path)
    assert log.read_bytes().splitlines() == [b'{"whole": 1}', b'{"torn": ', b'{"next": 2}']
    append_text(log, '{"then": 3}\n', root=tmp_path)  # no blank line after a whole one
    assert log.read_bytes().endswith(b'{"next": 2}\n{"then": 3}\n')


def test_a_private_folder_is_owner_only_and_never_chmodded_through_a_link(
    tmp_path: Path, outside: Path
) -> None:
    made = tmp_path / "interception" / "spool"
    make_private_directory(made, tmp_path)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    make_private_directory(loose, tmp_path)  # one that was there is made owner-only too
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    before = stat.S_IMODE(outside.stat().st_mode)
    (tmp_path / "planted").symlink_to(outside)
    with pytest.raises(UnsafePath, match="planted"):
        make_private_directory(tmp_path / "planted", tmp_path)
    assert stat.S_IMODE(outside.stat().st_mode) == before
