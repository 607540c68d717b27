"""``bench analyze --jobs 2`` whose worker dies: inconclusive (exit 2), one line naming the
cause, never a traceback or a "fail" (exit 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benches.analysis import parallel
from tests.support.analyzecli import rack_files
from tests.support.paths import REPO
from tests.support.pcaps import leaky_boot, write_pcap

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="needs the fork start method")

# The CLI as `python -m benches` runs it, with the workers' reading replaced: the second
# worker sends itself SIGKILL (a real signal, as the OOM killer sends it) or raises.
RUN = """
import os, signal, sys
from benches.analysis import parallel
from benches.cli.main import main

def reading(capture, inspector, phones, shard=None, *rest):
    if shard is not None and shard.index == 1:
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise MemoryError("cannot allocate")
    return original(capture, inspector, phones, shard, *rest)

original = parallel.read_flows
parallel.read_flows = reading
sys.exit(main(sys.argv[2:]))
"""


def analyze_with_a_lost_worker(
    tmp_path: Path, how: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    devices, firmware = rack_files(tmp_path)
    capture = write_pcap(tmp_path / "leaky.pcap", leaky_boot())
    args = ["analyze", str(capture), "--devices", str(devices), "--firmware", str(firmware)]
    result = subprocess.run(
        [sys.executable, "-c", RUN, how, *args, "--jobs", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, capture


def test_a_worker_killed_by_sigkill_is_inconclusive_with_one_line(tmp_path: Path) -> None:
    result, capture = analyze_with_a_lost_worker(tmp_path, "kill")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"bench: inconclusive: worker 2 died (signal 9, killed) while reading {capture}: "
        "its share of the flows was never read"
    ]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_worker_that_raises_is_inconclusive_with_one_line(tmp_path: Path) -> None:
    result, capture = analyze_with_a_lost_worker(tmp_path, "raise")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"bench: inconclusive: worker 2 failed while reading {capture}: "
        "MemoryError: cannot allocate"
    ]
