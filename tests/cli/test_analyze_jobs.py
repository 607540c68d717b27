"""``bench analyze --jobs N``, its default, how flows are split between shards, and
what ``bench analyze`` imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benches.analysis import parallel
from benches.analysis.pcap.shard import Shard
from tests.support.analyzecli import bench, rack_files
from tests.support.pcaps import clean_boot, write_pcap
from tests.support.shardcaps import shard_of, write_mixed


@pytest.mark.skipif(not parallel.can_fork(), reason="needs the fork start method")
def test_bench_analyze_jobs_gives_the_same_output(tmp_path: Path) -> None:
    mixed = write_mixed(tmp_path)
    devices, firmware = rack_files(tmp_path)
    outputs = [
        bench("analyze", mixed[0], "--devices", devices, "--firmware", firmware, "--json", *jobs)
        for jobs in (["--jobs", "1"], ["--jobs", "2"], [])
    ]
    assert [o.returncode for o in outputs] == [1, 1, 1], outputs[0].stderr
    assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout
    assert '"cleartext_identifier"' in outputs[0].stdout


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bench_analyze_refuses_a_bad_number_of_jobs(value: str, tmp_path: Path) -> None:
    devices, firmware = rack_files(tmp_path)
    capture = write_pcap(tmp_path / "boot.pcap", clean_boot())
    done = bench("analyze", capture, "--devices", devices, "--firmware", firmware, "--jobs", value)
    assert done.returncode == 2
    assert f"not a number of processes: '{value}'" in done.stderr
    assert "Traceback" not in done.stderr


def test_by_default_one_process_per_cpu_and_per_share_of_capture(tmp_path: Path) -> None:
    small = tmp_path / "small.pcap"
    small.write_bytes(bytes(1000))
    assert parallel.default_jobs([small]) == 1
    assert parallel.default_jobs([tmp_path / "missing.pcap"]) == 1
    big = tmp_path / "big.pcap"
    with big.open("wb") as f:
        f.truncate(64 * parallel.SHARE)  # sparse: no disk used
    assert parallel.default_jobs([big]) == min(64, len(os.sched_getaffinity(0)))
    two_shares = tmp_path / "two.pcap"
    with two_shares.open("wb") as f:
        f.truncate(2 * parallel.SHARE)
    assert parallel.default_jobs([two_shares]) == min(2, len(os.sched_getaffinity(0)))


def test_bench_analyze_imports_only_its_own_command() -> None:
    code = (
        "import sys; from benches.cli.main import build_parser; build_parser('analyze'); "
        "print(sorted(m for m in ('adbutils', 'requests', 'PIL', 'benches.cli.signoff') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@given(st.binary(min_size=8, max_size=32).filter(lambda b: len(b) % 2 == 0), st.integers(1, 8))
def test_both_directions_of_a_flow_go_to_one_shard(addresses: bytes, count: int) -> None:
    half = len(addresses) // 2
    src, dst = addresses[:half], addresses[half:]
    forward, back = src + dst + b"\x12\x34\x00\x35", dst + src + b"\x00\x35\x12\x34"
    assert shard_of(forward, count) == shard_of(back, count)
    owners = [Shard(index, count).owns_key(forward) for index in range(count)]
    assert owners.index(True) == shard_of(forward, count)
    assert owners.count(True) == 1
