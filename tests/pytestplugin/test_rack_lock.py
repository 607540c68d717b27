"""hold_rack, the plugin's one call that holds the rack for a session: a worker never
takes it (its controller holds it), and --wait waits. Real pytest sessions in their own
processes, on a suite that takes the rack as a sign-off run does and touches nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.rack_locks import holder, lock_env
from tests.support.rackfiles import FIXED, REPO, relocated_name, relocated_rack

HOLDING_CONFTEST = """
from benches.pytestplugin.rack_lock import hold_rack


def pytest_configure(config):
    if config.getoption("--as-worker", default=False):
        config.workerinput = {"workerid": "gw0"}  # what pytest-xdist gives a worker


def pytest_addoption(parser):
    parser.addoption("--as-worker", action="store_true")


def pytest_sessionstart(session):
    hold_rack(session.config)
"""
MARKING_TEST = """
from pathlib import Path


def test_ran(request):
    Path(request.config.getoption("reports"), "ran").write_text("yes")
"""


def suite_in(tmp_path: Path) -> tuple[Path, Path]:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(HOLDING_CONFTEST)
    (suite / "test_mark.py").write_text(MARKING_TEST)
    return suite, relocated_rack(tmp_path, shift=63, adb_port=5343)


def pytest_command(suite: Path, devices: Path, reports: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
            "--firmware", str(FIXED), "--devices", str(devices), "--reports", str(reports),
            *more]  # fmt: skip


def test_a_worker_runs_under_its_controllers_lock(tmp_path: Path) -> None:
    suite, devices = suite_in(tmp_path)
    locks = tmp_path / "locks"
    with holder(locks, devices):
        as_controller = subprocess.run(
            pytest_command(suite, devices, tmp_path / "controller"),
            cwd=REPO, env=lock_env(locks), capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        as_worker = subprocess.run(
            pytest_command(suite, devices, tmp_path / "worker", "--as-worker"),
            cwd=REPO, env=lock_env(locks), capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
    assert as_controller.returncode == 4, as_controller.stdout + as_controller.stderr
    assert f"rack {relocated_name(63)} is in use by " in as_controller.stderr
    assert as_worker.returncode == 0, as_worker.stdout + as_worker.stderr
    assert (tmp_path / "worker" / "ran").exists()


def test_wait_waits_for_the_holder_saying_whom_on(tmp_path: Path) -> None:
    suite, devices = suite_in(tmp_path)
    locks = tmp_path / "locks"
    reports = tmp_path / "reports"
    reports.mkdir()
    with holder(locks, devices) as process:
        waiting = subprocess.Popen(
            pytest_command(suite, devices, reports, "--wait"), cwd=REPO, env=lock_env(locks),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert waiting.stderr is not None
        said = waiting.stderr.readline()  # waiting now
        assert not (reports / "ran").exists()
        process.kill()
        out, errors = waiting.communicate(timeout=120)
    assert said.startswith(f"bench: waiting: rack {relocated_name(63)} is in use by "), said
    assert f"pid {process.pid} since " in said
    assert waiting.returncode == 0, out + errors
    assert (reports / "ran").read_text() == "yes"
