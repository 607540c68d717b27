"""`bench signoff`, `bench discover` and a pytest sign-off session on a rack another
session holds: exit 4 with one line, before anything is touched; `--wait` waits.

Live only the last: a refused session stops before the rack, and the `--wait` run's
suite is a conftest that takes the rack as a sign-off session does, and one test that
touches nothing.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.rack_locks import holder, lock_env
from tests.support.rackfiles import FIXED, REPO, relocated_name, relocated_rack

ADB_PORT = 5341  # nothing listens: nothing gets that far
WHO = f"{getpass.getuser()}@{socket.gethostname()} pid "

# A suite whose session takes the rack as the plugin does for a sign-off run (and as an
# xdist controller does), then one test that says it ran.
HOLDING_CONFTEST = """
from benches.pytestplugin.rack_lock import hold_rack


def pytest_sessionstart(session):
    hold_rack(session.config)
"""
MARKING_TEST = """
from pathlib import Path


def test_ran_under_the_lock(request):
    Path(request.config.getoption("reports"), "ran").write_text("yes")
"""


def bench(lock_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benches", *args], cwd=REPO, env=lock_env(lock_dir),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_bench_signoff_on_a_rack_in_use_exits_4_with_one_line(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=65, adb_port=ADB_PORT)
    with holder(tmp_path / "locks", devices) as process:
        done = bench(
            tmp_path / "locks", "signoff", "--devices", str(devices), "--firmware", str(FIXED),
            "--reports", str(tmp_path / "reports"),
        )  # fmt: skip
        assert process.poll() is None  # refused while held: it did not wait
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"bench: error: rack {relocated_name(65)} is in use by ")
    assert f"{WHO}{process.pid} since " in done.stderr
    assert done.stderr.rstrip().endswith("pass --wait to wait for it")
    assert "=== sign-off" not in done.stdout
    assert not (tmp_path / "reports").exists()


def test_bench_discover_on_an_adb_server_in_use_exits_4(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=65, adb_port=ADB_PORT)
    output = tmp_path / "found.yaml"
    with holder(tmp_path / "locks", devices):
        done = bench(tmp_path / "locks", "discover", "--adb", f"127.0.0.1:{ADB_PORT}",
                     "--output", str(output))  # fmt: skip
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        f"bench: error: adb server 127.0.0.1:{ADB_PORT} is in use by {WHO}"
    )
    assert f"for rack {relocated_name(65)}" in done.stderr
    assert not output.exists()


def test_a_pytest_signoff_session_on_a_rack_in_use_exits_4_before_its_plan(
    tmp_path: Path,
) -> None:
    """The session stops at collection's end, before the capture probe or the run's plan."""
    devices = relocated_rack(tmp_path, shift=65, adb_port=ADB_PORT)
    reports = tmp_path / "reports"
    with holder(tmp_path / "locks", devices) as process:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", str(REPO / "testcases"), "-q", "-p",
             "no:cacheprovider", "--firmware", str(FIXED), "--devices", str(devices),
             "--reports", str(reports)],
            cwd=REPO, env=lock_env(tmp_path / "locks"), capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 4, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # pytest's stdout says only "no tests ran"
    assert lines[0].startswith(f"ERROR: rack {relocated_name(65)} is in use by {WHO}")
    assert f"pid {process.pid} since " in lines[0]
    assert not list(reports.glob("**/*plan*")) and not list(reports.glob("**/*.jsonl"))


def test_bench_signoff_wait_waits_then_its_sessions_run_under_its_lock(tmp_path: Path) -> None:
    """It says whom it waits on; once the holder is killed it goes on, and the pytest
    session it runs takes the rack through the command's own lock."""
    devices = relocated_rack(tmp_path, shift=65, adb_port=ADB_PORT)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(HOLDING_CONFTEST)
    (suite / "test_mark.py").write_text(MARKING_TEST)
    reports = tmp_path / "reports"
    locks = tmp_path / "locks"
    with holder(locks, devices) as process:
        waiting = subprocess.Popen(
            [sys.executable, "-m", "benches", "signoff", "--wait", "--devices", str(devices),
             "--firmware", str(FIXED), "--reports", str(reports), "--testcases", str(suite)],
            cwd=REPO, env=lock_env(locks, BENCH_ALLURE=str(tmp_path / "no-allure")),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert waiting.stderr is not None
        said = waiting.stderr.readline()  # it is waiting now
        process.kill()
        out, errors = waiting.communicate(timeout=300)
    assert said.startswith(f"bench signoff: waiting: rack {relocated_name(65)} is in use by ")
    assert f"{WHO}{process.pid} since " in said
    assert "in use" not in out + errors, out + errors
    assert (reports / "ran").read_text() == "yes", out + errors
    assert waiting.returncode != 4


@pytest.mark.live
def test_a_second_session_leaves_a_running_signoff_alone(tmp_path: Path) -> None:
    """A real sign-off on the virtual rack holds it; a pytest sign-off session started
    beside it exits 4 naming it, and the first one's result stands (GO)."""
    devices = relocated_rack(tmp_path, shift=62, adb_port=5342)
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(REPO / "testcases" / "test_boot.py", suite)
    locks = tmp_path / "locks"
    first = subprocess.Popen(
        [sys.executable, "-m", "benches", "signoff", "--devices", str(devices), "--firmware",
         str(FIXED), "--reports", str(tmp_path / "first"), "--testcases", str(suite)],
        cwd=REPO, env=lock_env(locks, BENCH_ALLURE=str(tmp_path / "no-allure")),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert first.stdout is not None
    heard = ""
    while "=== sign-off 1/1" not in heard:  # printed once the command holds the rack
        line = first.stdout.readline()
        assert line, heard
        heard += line
    second = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
         "--firmware", str(FIXED), "--devices", str(devices), "--reports",
         str(tmp_path / "second")],
        cwd=REPO, env=lock_env(locks), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    rest, _ = first.communicate(timeout=600)
    assert second.returncode == 4, second.stdout + second.stderr
    assert f"rack {relocated_name(62)} is in use by {WHO}{first.pid} since" in second.stderr
    assert first.returncode == 0, heard + rest
    assert "GO" in rest
