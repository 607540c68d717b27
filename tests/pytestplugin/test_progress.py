"""A long run shows which phone is in which cycle and what is left: on the terminal, in the log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benches.pytestplugin.progress import Step, duration, progress_line, time_left
from benches.redaction.masks import SHOW_IDENTIFIERS_ENV

PLAN = [
    Step("t::boot[1]", "SI…1", "boot", 1),
    Step("t::boot[2]", "SI…2", "boot", 1),
    Step("t::unlock[1]", "SI…1", "unlock", 1),
    Step("t::unlock[2]", "SI…2", "unlock", 1),
    Step("t::idle[1]", "SI…1", "idle", 1),
]


def test_the_first_line_has_no_estimate_yet() -> None:
    assert progress_line(PLAN, 0, {}) == "[1/5] SI…1 boot cycle 1 (1 more boot cycle, 4 more tests)"


def test_the_estimate_uses_each_kinds_own_time_and_the_mean_for_kinds_not_seen() -> None:
    seconds = {"boot": [30.0, 30.0], "unlock": [10.0]}
    # Left: unlock (10) + idle (not seen yet: the mean of all, 70 / 3) = 33.3 s.
    assert progress_line(PLAN, 3, seconds) == (
        "[4/5] SI…2 unlock cycle 1 (0 more unlock cycles, 1 more test, "
        "~33 s left at 23 s per cycle so far)"
    )
    assert time_left(PLAN[1:], {"boot": [200.0]}) == "~13 min left at 200 s per cycle so far"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.2, "1 s"),
        (40, "40 s"),
        (59.4, "59 s"),
        (59.6, "1 min"),
        (185, "3 min"),
        (7500, "2 h 05 min"),
    ],
)
def test_durations_read_as_people_say_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


SUITE = """
import pytest

@pytest.mark.cycle("boot")
@pytest.mark.parametrize("phone", ["SIM7P0001", "SIM7P0002"])
def test_boot(phone):
    pass

@pytest.mark.cycle("unlock")
@pytest.mark.parametrize("phone", ["SIM7P0001", "SIM7P0002"])
def test_unlock(phone):
    pass

def test_not_a_cycle():
    pass
"""
CONFTEST = """
from benches.pytestplugin.progress import Progress

def pytest_configure(config):
    config.addinivalue_line("markers", "cycle(kind): a sign-off cycle")
    config.pluginmanager.register(Progress(config), "benches-progress")
"""


def run_suite(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A suite of cycle-marked tests with the progress plugin alone (no rack needed)."""
    (directory / "test_suite.py").write_text(SUITE)
    (directory / "conftest.py").write_text(CONFTEST)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:benches.pytestplugin.hooks",
         "-p", "no:cacheprovider", *args],
        cwd=directory, capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if k != SHOW_IDENTIFIERS_ENV},
    )  # fmt: skip


def test_each_cycle_test_gets_a_line_even_with_q_and_the_log_has_it(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "-q", "--log-file", "run.log", "--log-file-level", "INFO")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("bench: ")]
    assert lines[0] == "bench: [1/4] SI…1 boot cycle 1 (1 more boot cycle, 3 more tests)"
    assert [re.sub(r", ~.*\)$", ")", line) for line in lines[1:]] == [
        "bench: [2/4] SI…2 boot cycle 1 (0 more boot cycles, 2 more tests)",
        "bench: [3/4] SI…1 unlock cycle 1 (1 more unlock cycle, 1 more test)",
        "bench: [4/4] SI…2 unlock cycle 1 (0 more unlock cycles, 0 more tests)",
    ]
    assert all(re.search(r", ~\d+ s left at \d+ s per cycle so far\)$", line) for line in lines[1:])
    assert "5 passed" in done.stdout
    log = (tmp_path / "run.log").read_text()
    assert "[1/4] SI…1 boot cycle 1 (1 more boot cycle, 3 more tests)" in log
    assert "SIM7P000" not in done.stdout + log


def test_verbose_runs_keep_one_line_per_test(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "-v")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    first = out.index("bench: [1/4] SI…1 boot cycle 1 (1 more boot cycle, 3 more tests)")
    assert out[first + 1].startswith("test_suite.py::test_boot[SIM7P0001] PASSED")
