"""executor.json: written only in CI, linking the report to the CI build that made it."""

from __future__ import annotations

import json
from pathlib import Path

from benches.inventory import load_manifest, load_rack
from benches.report.allure.metadata import executor, write_run_metadata
from tests.support.rackfiles import FIXED, SHIPPED_RACK


def test_no_executor_outside_ci() -> None:
    assert executor({}) is None
    assert executor({"CI": "false", "HOME": "/root"}) is None


def test_executor_on_github_actions_links_the_run_and_the_report() -> None:
    block = executor(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_REPOSITORY": "qa/benches",
            "GITHUB_RUN_ID": "987",
            "GITHUB_RUN_NUMBER": "42",
            "GITHUB_WORKFLOW": "nightly sign-off",
            "BENCH_REPORT_URL": "https://qa.example/benches/",
        }
    )
    assert block == {
        "name": "GitHub Actions",
        "type": "github",
        "url": "https://github.example/qa/benches",
        "buildName": "nightly sign-off #42",
        "buildUrl": "https://github.example/qa/benches/actions/runs/987",
        "buildOrder": 42,
        "reportName": "Firmware privacy sign-off nightly sign-off #42",
        "reportUrl": "https://qa.example/benches/",
    }


def test_executor_on_gitlab_and_on_other_ci() -> None:
    gitlab = executor(
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_IID": "7",
            "CI_JOB_NAME": "signoff",
            "CI_JOB_URL": "https://gitlab.example/qa/benches/-/jobs/55",
            "CI_PAGES_URL": "https://qa.pages.example/benches",
        }
    )
    assert gitlab is not None
    assert (gitlab["type"], gitlab["buildOrder"], gitlab["reportUrl"]) == (
        "gitlab",
        7,
        "https://qa.pages.example/benches",
    )
    assert gitlab["buildUrl"] == "https://gitlab.example/qa/benches/-/jobs/55"
    other = executor({"CI": "true"})
    assert other is not None and other["name"] == "CI" and "type" not in other


def test_executor_json_is_written_in_ci(tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "qa/benches", "GITHUB_RUN_NUMBER": "3"}
    write_run_metadata(tmp_path, load_rack(SHIPPED_RACK), load_manifest(FIXED), env=env)
    assert json.loads((tmp_path / "executor.json").read_text())["buildOrder"] == 3
