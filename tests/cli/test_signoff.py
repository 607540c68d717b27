"""``bench signoff`` as QA runs it, on the virtual rack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.rackfiles import FIXED, LEAKY, REPO, relocated_rack

# A conftest for the suite: each build's session tears its verdict log's last line in
# half before the summary is written, as a run killed in the middle of a write does.
TEARING_CONFTEST = """
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return  # torn once, by the controller, after every worker's verdict is in
    for log in (Path(session.config.getoption("reports")) / "verdicts").glob("*.jsonl"):
        data = log.read_bytes()
        last = data.rstrip(b"\\n").rfind(b"\\n") + 1
        log.write_bytes(data[: last + (len(data) - last) // 2])
"""


@pytest.mark.live
def test_bench_signoff_survives_a_torn_verdict_log(tmp_path: Path) -> None:
    """The cycle whose line was torn has no verdict: never GO; the leaks still say NO-GO."""
    testcases = tmp_path / "testcases"
    testcases.mkdir()
    shutil.copy(REPO / "testcases" / "test_boot.py", testcases)
    (testcases / "conftest.py").write_text(TEARING_CONFTEST)
    devices = relocated_rack(tmp_path, shift=41, adb_port=5181)
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "benches", "signoff", "--devices", str(devices),
         "--firmware", str(FIXED), "--firmware", str(LEAKY), "--reports", str(reports),
         "--testcases", str(testcases)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "BENCH_ALLURE": str(tmp_path / "no-allure")},  # no HTML report
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for build in ("00WW_3_22D", "00WW_3_22C"):  # the log really was torn
        assert not (reports / "verdicts" / f"{build}.jsonl").read_text().endswith("\n")
    summary = done.stdout.split("=== sign-off summary ===")[1]
    lines = [line.split(" build ") for line in summary.splitlines() if " build " in line]
    assert [(decision.strip(), rest.split()[0]) for decision, rest in lines] == [
        ("NO-GO (inconclusive)", "00WW_3_22D"),
        ("NO-GO", "00WW_3_22C"),
    ], summary
    assert "(2 pass, 0 fail, 0 inconclusive of 3 cycles)" in summary
    assert "(0 pass, 2 fail, 0 inconclusive of 3 cycles)" in summary
    # The summary the session wrote read the same torn log the same way.
    fixed = json.loads((reports / "signoff" / "00WW_3_22D" / "summary.json").read_text())
    assert fixed["decision"] == "NO-GO (inconclusive)"
    assert fixed["reasons"] == ["1 of 3 collected cycles has no verdict (bench fault)"]
    leaky = json.loads((reports / "signoff" / "00WW_3_22C" / "summary.json").read_text())
    assert (leaky["decision"], leaky["counts"]["fail"], leaky["counts"]["missing"]) == (
        "NO-GO",
        2,
        1,
    )
