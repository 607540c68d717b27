"""``bench report``: allure-results rendered by the real Allure CLI, errors in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support.allure_tools import require_allure
from tests.support.rackfiles import REPO


def bench_report(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benches", "report", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **env},
    )  # fmt: skip


def results_of(directory: Path, *names: str) -> Path:
    """An allure-results directory with one passed test per name."""
    directory.mkdir(parents=True)
    for name in names:
        result = {"uuid": str(uuid.uuid4()), "historyId": name, "name": name,
                  "fullName": f"suite#{name}", "status": "passed", "stage": "finished",
                  "start": 1_700_000_000_000, "stop": 1_700_000_001_000}  # fmt: skip
        (directory / f"{result['uuid']}-result.json").write_text(json.dumps(result))
    return directory


def test_results_from_two_benches_make_one_report_and_the_next_keeps_its_history(
    tmp_path: Path,
) -> None:
    require_allure()
    first = results_of(tmp_path / "bench-a", "test_boot")
    second = results_of(tmp_path / "bench-b", "test_unlock")
    report = tmp_path / "merged"
    done = bench_report(first, second, "--report", report)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"Allure report: {report / 'index.html'}  (no history;")
    tests = json.loads((report / "widgets" / "summary.json").read_text())["statistic"]
    assert (tests["total"], tests["passed"]) == (2, 2)
    again = bench_report(first, second, "--report", report)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(trends over 1 earlier run;" in again.stdout


def test_without_results_it_says_so_in_one_line(tmp_path: Path) -> None:
    done = bench_report(tmp_path / "nothing", "--report", tmp_path / "report")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"bench: error: no allure-results at {tmp_path / 'nothing'}\n"


def test_without_an_allure_cli_it_says_so_in_one_line(tmp_path: Path) -> None:
    results = results_of(tmp_path / "allure-results", "test_boot")
    nowhere = tmp_path / "nowhere" / "allure"
    done = bench_report(results, "--report", tmp_path / "report", BENCH_ALLURE=str(nowhere))
    assert done.returncode == 2
    assert done.stderr == f"bench: error: no Allure CLI at {nowhere}\n"
    assert not (tmp_path / "report").exists()


def test_a_kept_history_alone_where_the_report_goes_is_carried_over(tmp_path: Path) -> None:
    """The nightly workflow brings back only history/ from the night before."""
    require_allure()
    results = results_of(tmp_path / "allure-results", "test_boot")
    report = tmp_path / "report"
    assert bench_report(results, "--report", report).returncode == 0
    kept = tmp_path / "kept"
    (report / "history").rename(kept)
    for path in sorted(report.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    kept.rename(report / "history")  # what the workflow's "Bring back" step leaves
    done = bench_report(results, "--report", report)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(trends over 1 earlier run;" in done.stdout
