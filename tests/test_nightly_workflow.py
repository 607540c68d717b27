"""The nightly workflow: a sign-off per bench (a matrix over runner labels), then one merge.

GitHub runs it, not this machine; the test reads it as GitHub would (YAML) and
checks the wiring a typo would break silently: each bench's job uploads what
`bench merge` reads, the merge downloads every bench's upload and runs after a
bench's NO-GO, and Pages publishes the merged report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.bench_results import write_bench_results
from tests.support.paths import REPO

WORKFLOW = REPO / ".github" / "workflows" / "nightly.yml"


def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def steps(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step.get("name") or step.get("uses") or step["id"]: step for step in job["steps"]}


def test_each_bench_signs_off_on_its_own_runner_and_uploads_what_the_merge_reads() -> None:
    job = workflow()["jobs"]["signoff"]
    assert job["strategy"]["fail-fast"] is False
    assert "vars.BENCH_RUNNERS" in job["strategy"]["matrix"]["bench"]
    assert job["runs-on"] == ["self-hosted", "linux", "${{ matrix.bench }}"]
    assert job["concurrency"]["group"] == "phone-bench-${{ matrix.bench }}"
    upload = steps(job)[
        "Publish the results for the merge (Allure results, summaries, evidence, pcaps)"
    ]
    assert upload["with"]["name"] == "bench-results-${{ matrix.bench }}-${{ github.run_number }}"
    paths = upload["with"]["path"].split()
    for needed in ("reports/allure-results", "reports/signoff", "reports/pcaps"):
        assert needed in paths
    assert all(path.startswith("reports/") for path in paths)  # the artifact is reports/


def test_the_merge_takes_every_bench_s_upload_even_after_a_no_go() -> None:
    jobs = workflow()["jobs"]
    merge = jobs["merge"]
    assert merge["needs"] == "signoff"
    assert merge["if"] == "${{ !cancelled() }}"
    found = steps(merge)
    download = found["Download every bench's results"]
    assert download["uses"] == "actions/download-artifact@v4"
    assert download["with"]["pattern"] == "bench-results-*-${{ github.run_number }}"
    assert "merge-multiple" not in download["with"]  # one folder per bench
    script = found["Merge"]["run"]
    assert './run merge "${dirs[@]}" --out reports-merged' in script
    assert "benches-results/*/" in script
    assert found["Stage the merged report for GitHub Pages"]["with"]["path"] == (
        "reports-merged/allure-report"
    )
    assert jobs["pages"]["needs"] == "merge"
    assert "bench-results-" not in str(jobs["pages"])


def test_the_merge_step_s_exit_codes_are_the_verdicts() -> None:
    check = steps(workflow()["jobs"]["merge"])["GO or NO-GO on every bench"]["run"]
    for code, word in (("0)", "GO on every bench"), ("1)", "NO-GO"), ("2)", "inconclusive")):
        assert code in check and word in check


def run_merge_step(workdir: Path, runners: str) -> tuple[str, str]:
    """The Merge step's script, run by bash in ``workdir`` as the runner would, with
    ``bench merge`` for ``./run merge``; returns (its GITHUB_OUTPUT, its log)."""
    script = steps(workflow()["jobs"]["merge"])["Merge"]["run"]
    bench = f"{sys.executable} -m benches merge"
    assert "./run merge" in script
    output = workdir / "github-output"
    env = {**os.environ, "RUNNERS": runners, "GITHUB_OUTPUT": str(output),
           "GITHUB_STEP_SUMMARY": str(workdir / "summary.md"), "PYTHONPATH": str(REPO),
           "BENCH_ALLURE": str(workdir / "no-allure")}  # fmt: skip
    done = subprocess.run(
        ["bash", "-e", "-c", script.replace("./run merge", bench)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return output.read_text(), (workdir / "merge.log").read_text()


def test_the_merge_step_says_go_for_every_bench_s_go(tmp_path: Path) -> None:
    for name in ("bench-a", "bench-b"):
        write_bench_results(
            tmp_path / "benches-results" / f"bench-results-{name}-7", name, {"B1": ["pass"]}
        )
    output, log = run_merge_step(tmp_path, '["lab-a", "lab-b"]')
    assert output == "exit=0\n", log
    assert (tmp_path / "reports-merged" / "signoff" / "B1" / "summary.json").is_file()


def test_a_bench_that_uploaded_nothing_keeps_the_merge_from_go(tmp_path: Path) -> None:
    write_bench_results(
        tmp_path / "benches-results" / "bench-results-bench-a-7", "bench-a", {"B1": ["pass"]}
    )
    output, log = run_merge_step(tmp_path, '["lab-a", "lab-b"]')
    assert output == "exit=2\n", log
    assert "results from 1 of 2 benches: not GO everywhere" in log
