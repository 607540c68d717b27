"""The report step without the Allure CLI itself: history copy, safety, one-line errors.

tests/test_allure_meta.py runs the real CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.cli import signoff as cli_signoff
from benches.report.allure.generator import AllureFailed, carry_history, generate_report


def test_history_is_copied_into_the_results(tmp_path: Path) -> None:
    report, results = tmp_path / "report", tmp_path / "results"
    assert not carry_history(report, results)
    (report / "history").mkdir(parents=True)
    (report / "history" / "history-trend.json").write_text("[1]")
    (results / "history").mkdir(parents=True)
    (results / "history" / "stale.json").write_text("{}")
    assert carry_history(report, results)
    assert sorted(p.name for p in (results / "history").iterdir()) == ["history-trend.json"]


def test_generate_refuses_to_replace_a_directory_that_is_not_a_report(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("mine")
    with pytest.raises(AllureFailed, match="not an Allure report"):
        generate_report([tmp_path / "results"], tmp_path / "home")
    assert (tmp_path / "home" / "notes.txt").read_text() == "mine"


def test_signoff_says_in_one_line_why_there_is_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli_signoff._generate_report(tmp_path) == (
        f"Allure report:  not generated: no allure-results at {tmp_path / 'allure-results'}"
    )
    (tmp_path / "allure-results").mkdir()
    monkeypatch.setenv("BENCH_ALLURE", str(tmp_path / "nowhere" / "allure"))
    assert cli_signoff._generate_report(tmp_path) == (
        f"Allure report:  not generated: no Allure CLI at {tmp_path / 'nowhere' / 'allure'}"
    )


def test_history_links_are_left_out_so_no_secret_is_copied_and_no_loop_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A link to a secret and a folder linked to its own parent: the old copy took the
    secret along and wrote gigabytes in seconds through the loop."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$hash\n")
    report, results = tmp_path / "report", tmp_path / "results"
    history = report / "history"
    (history / "nested").mkdir(parents=True)
    (history / "history-trend.json").write_text("[1]")
    (history / "nested" / "retry-trend.json").write_text("[2]")
    (history / "duration-trend.json").symlink_to(secret)
    (history / "nested" / "loop").symlink_to(history)
    results.mkdir()
    assert carry_history(report, results)
    copied = sorted(str(p.relative_to(results)) for p in (results / "history").rglob("*"))
    assert copied == [
        "history/history-trend.json",
        "history/nested",
        "history/nested/retry-trend.json",
    ]
    assert not any(p.is_symlink() for p in (results / "history").rglob("*"))
    assert "left out what is not a plain file or folder" in caplog.text
    assert "duration-trend.json" in caplog.text and "loop" in caplog.text


def test_a_linked_history_folder_is_not_carried(tmp_path: Path) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / "passwd").write_text("root:x:0:0\n")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "history").symlink_to(elsewhere)
    assert not carry_history(tmp_path / "report", tmp_path / "results")
    assert not (tmp_path / "results" / "history").exists()
