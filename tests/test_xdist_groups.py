"""`./run test`'s xdist groups hold: a group's tests all run on one worker, in order.

pytest-xdist 3.8 marks a group by changing the test's node id, which pytest 9.2
ignores (pytest-dev/pytest-xdist#1386), so `--dist loadgroup` alone spreads a
group over every worker. The suite's own scheduling (tests/support/xdist_groups.py,
hooked in tests/conftest.py) must keep them together. A real pytest with four
real workers runs a small suite whose tests write down the worker they ran on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

CONFTEST = """\
from tests.conftest import (  # the suite's own hooks, as tests/ gets them
    pytest_collection_modifyitems,
    pytest_configure_node,
    pytest_xdist_make_scheduler,
)
"""

SUITE = """\
import os
import pytest

def ran(name):
    with open(os.environ["RAN_LOG"], "a") as log:
        log.write(f"{os.environ['PYTEST_XDIST_WORKER']} {name}\\n")

@pytest.mark.xdist_group("127.77")
@pytest.mark.parametrize("n", range(8))
def test_grouped(n):
    ran(f"grouped{n}")

@pytest.mark.parametrize("n", range(8))
def test_free(n):
    ran(f"free{n}")
"""


def test_a_groups_tests_run_on_one_worker_in_order(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    log = tmp_path / "ran.log"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
         str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
         "-n", "4", "--dist", "loadgroup", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**_env(), "RAN_LOG": str(log)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    runs = [line.split() for line in log.read_text().splitlines()]
    grouped = [(worker, name) for worker, name in runs if name.startswith("grouped")]
    assert len({worker for worker, _ in grouped}) == 1, grouped
    assert [name for _, name in grouped] == [f"grouped{n}" for n in range(8)]
    assert len(runs) == 16


def _env() -> dict[str, str]:
    # The subprocess imports tests.conftest from this checkout.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}
