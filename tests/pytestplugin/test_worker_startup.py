"""What a parallel sign-off's processes load, and how a worker ends: each of 24 workers pays
for every module it imports and for its interpreter's clean-up, on a rack's 2 cores, so what
a worker never uses stays out of it. Counted (modules present, clean-up run or not), never
timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.rack_locks import lock_env
from tests.support.rackfiles import FIXED, SHIPPED_RACK

# Written by each process of the run at its very end (after every terminal summary).
MODULES_SEEN = """
import json, os, sys
import pytest


class CleanedUp:
    # Freed by the interpreter's clean-up at exit, which then marks the process's file (the
    # path is made now: module globals may be gone by then).
    def __init__(self):
        role = os.environ.get("PYTEST_XDIST_WORKER", "controller")
        self.path = os.path.join(os.environ["MODULES_SEEN_DIR"], role + ".cleaned-up")
        self.open = open

    def __del__(self):
        self.open(self.path, "w").close()


CLEANED_UP = CleanedUp()

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    role = getattr(config, "workerinput", {}).get("workerid", "controller")
    seen = {name: name in sys.modules for name in ("hypothesis", "benches.sim")}
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as parent:
        seen["forked"] = b"worker_forkserver_process" in parent.read()
    from benches.analysis import analyzer
    from benches.pytestplugin.config import rack_of
    seen["detector_built"] = rack_of(config) in analyzer._DETECTORS  # before any cycle
    with open(os.path.join(os.environ["MODULES_SEEN_DIR"], role + ".json"), "w") as out:
        json.dump(seen, out)
"""


def run_parallel(tmp_path: Path, manifest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pytest -n 1 --firmware ...` on a test that drives no phone (no bench starts)."""
    (tmp_path / "conftest.py").write_text(MODULES_SEEN)
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    seen = tmp_path / "seen"
    seen.mkdir()
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "1",
        "--firmware", str(manifest), "--devices", str(SHIPPED_RACK),
        "--reports", str(tmp_path / "reports"), *args,
    ]  # fmt: skip
    env = lock_env(tmp_path / "locks", MODULES_SEEN_DIR=str(seen))
    # Run from an xdist worker of the project's suite, the run's controller is no worker.
    env = {name: value for name, value in env.items() if not name.startswith("PYTEST_XDIST_")}
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def modules_seen(tmp_path: Path, role: str) -> dict[str, bool]:
    return json.loads((tmp_path / "seen" / f"{role}.json").read_text())


def test_a_sign_off_s_processes_never_import_hypothesis(tmp_path: Path) -> None:
    """Hypothesis's pytest plugin imports all of Hypothesis in every terminal summary."""
    done = run_parallel(tmp_path, FIXED)
    assert done.returncode == 0, done.stdout + done.stderr
    assert modules_seen(tmp_path, "gw0")["hypothesis"] is False
    assert modules_seen(tmp_path, "controller")["hypothesis"] is False


def test_a_parallel_sign_off_s_worker_never_imports_the_simulator(tmp_path: Path) -> None:
    """The controller runs the virtual rack and checks the manifest's behaviours once."""
    done = run_parallel(tmp_path, FIXED)
    assert done.returncode == 0, done.stdout + done.stderr
    assert modules_seen(tmp_path, "gw0")["benches.sim"] is False
    assert modules_seen(tmp_path, "controller")["benches.sim"] is True


def test_a_parallel_sign_off_with_an_unknown_behaviour_stops_in_one_line(
    tmp_path: Path,
) -> None:
    """The workers skip the check: the controller must still make it, before any worker."""
    manifest = tmp_path / "odd.yaml"
    manifest.write_text(FIXED.read_text().replace("vendor_update_tls]", "vendor_update_tls, nope]"))
    done = run_parallel(tmp_path, manifest)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        f"ERROR: {manifest}: virtual.behaviours: unknown behaviour 'nope' "
        "(known: cn_activation_client, connectivity_check, partner_analytics, vendor_update_tls)"
    ]
    assert not (tmp_path / "seen" / "gw0.json").exists()  # no worker started


def test_a_parallel_sign_off_s_worker_ends_without_the_interpreter_s_clean_up(
    tmp_path: Path,
) -> None:
    """Its results are sent and its files closed by then; the clean-up of its heap is CPU
    that all 24 workers would spend at the same moment, at the end of the run."""
    done = run_parallel(tmp_path, FIXED)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert modules_seen(tmp_path, "gw0")["hypothesis"] is False  # it did reach its end
    assert not (tmp_path / "seen" / "gw0.cleaned-up").exists()
    assert (tmp_path / "seen" / "controller.cleaned-up").exists()


def test_a_parallel_sign_off_s_workers_are_forked_from_the_warm_server(tmp_path: Path) -> None:
    """Imported once, not once a worker; its plugins as pytest imports them (assertion
    rewriting), so no worker warns that a module was imported before pytest."""
    done = run_parallel(tmp_path, FIXED)
    assert done.returncode == 0, done.stdout + done.stderr
    assert modules_seen(tmp_path, "gw0")["forked"] is True
    assert modules_seen(tmp_path, "controller")["forked"] is False
    assert modules_seen(tmp_path, "controller")["detector_built"] is False


def test_forked_workers_find_the_rack_s_detector_built(tmp_path: Path) -> None:
    """The server builds it from the same rack file after its first fork (that worker builds
    its own while its phone reboots): every later worker's rack finds it."""
    done = run_parallel(tmp_path, FIXED, "-n", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    built = [modules_seen(tmp_path, f"gw{n}")["detector_built"] for n in range(3)]
    assert built.count(True) >= 2, built
    assert "Warning" not in done.stdout + done.stderr


def test_fresh_workers_start_as_new_interpreters(tmp_path: Path) -> None:
    done = run_parallel(tmp_path, FIXED, "--fresh-workers")
    assert done.returncode == 0, done.stdout + done.stderr
    assert modules_seen(tmp_path, "gw0")["forked"] is False
    assert modules_seen(tmp_path, "gw0")["detector_built"] is False
    assert modules_seen(tmp_path, "gw0")["benches.sim"] is False
