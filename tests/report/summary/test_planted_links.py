"""Links planted in reports/ before a sign-off: nothing outside reports/ is written or chmod-ed.

The bench runs as root; anyone who can write into reports/ could otherwise
point index.html, summary.json, the evidence pack or the verdict log at any
file on the machine. Real files and real links, as a lab would leave them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from benches.redaction.safe_files import UnsafePath
from benches.report.summary.writer import summary_dir, write_summary
from benches.report.verdict_log import verdict_log_path, write_expected_count
from tests.report.summary.test_summary import (
    BOOT,
    BUILD,
    MANIFEST,
    RACK,
    judge_and_log,
    plan,
)
from tests.support.pcaps import leaky_boot

SECRET = "root:$6$not-yours:19000:0:99999:7:::\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "shadow"
    path.write_text(SECRET)
    path.chmod(0o640)
    return path


def untouched(path: Path) -> bool:
    return path.read_text() == SECRET and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_links_at_the_summary_and_evidence_files_are_replaced_not_followed(
    tmp_path: Path, secret: Path
) -> None:
    reports = tmp_path / "reports"
    out = summary_dir(reports, BUILD)
    (out / "evidence").mkdir(parents=True)
    planted = [out / "index.html", out / "summary.json", out / "evidence" / "policy.json"]
    for path in planted:
        path.symlink_to(secret)
    plan(reports, ("boot",))
    judge_and_log(reports, "SIM7P0001", "boot", leaky_boot(), BOOT)
    write_summary(reports, RACK, MANIFEST)
    assert untouched(secret)
    for path in planted:
        assert not path.is_symlink() and path.stat().st_size > 0
    assert stat.S_IMODE((out / "evidence" / "policy.json").stat().st_mode) == 0o600


def test_a_linked_signoff_folder_is_refused_in_one_line(tmp_path: Path, secret: Path) -> None:
    reports = tmp_path / "reports"
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (reports / "signoff").mkdir(parents=True)
    (reports / "signoff" / BUILD).symlink_to(elsewhere)
    plan(reports, ("boot",))
    judge_and_log(reports, "SIM7P0001", "boot", leaky_boot(), BOOT)
    with pytest.raises(UnsafePath) as refused:
        write_summary(reports, RACK, MANIFEST)
    assert "\n" not in str(refused.value) and "symbolic link" in str(refused.value)
    assert list(elsewhere.iterdir()) == []


def test_the_verdict_log_and_counts_are_not_written_through_links(
    tmp_path: Path, secret: Path
) -> None:
    reports = tmp_path / "reports"
    (reports / "verdicts").mkdir(parents=True)
    verdict_log_path(reports, BUILD).symlink_to(secret)
    (reports / "verdicts" / f"{BUILD}.expected").symlink_to(secret)
    write_expected_count(reports, BUILD, 3)
    with pytest.raises(UnsafePath):
        judge_and_log(reports, "SIM7P0001", "boot", leaky_boot(), BOOT)
    assert untouched(secret)
    assert os.readlink(verdict_log_path(reports, BUILD)) == str(secret)
