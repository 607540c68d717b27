"""The sniffer's own argument reading (by hand: argparse was a sixth of its start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benches.capture.process import PACKAGE_ROOT, _sniffer_env
from benches.capture.sniffer import Arguments


def test_the_arguments_the_bench_writes_are_read() -> None:
    args = Arguments(
        ["--iface", "lo", "--host", "127.0.0.2", "--host", "::1", "--mac", "02:00:00:00:00:01",
         "--out", "/tmp/x.pcap"]
    )  # fmt: skip
    assert (args.iface, args.hosts, args.macs, args.out) == (
        "lo", ["127.0.0.2", "::1"], ["02:00:00:00:00:01"], Path("/tmp/x.pcap")
    )  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--iface", "lo", "--out", "x"], "--host is needed"),
        (["--iface", "lo", "--host", "a"], "--out is needed once"),
        (
            ["--iface", "lo", "--iface", "eth0", "--host", "a", "--out", "x"],
            "--iface is needed once",
        ),
        (["--iface", "lo", "--host"], "--host needs a value"),
        (["--iface", "lo", "--hots", "a", "--out", "x"], "unknown argument '--hots'"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(argv: list[str], error: str) -> None:
    # Started as the bench starts it: -S, the package found through PYTHONPATH.
    done = subprocess.run(
        [sys.executable, "-S", "-m", "benches.capture.sniffer", *argv],
        env=_sniffer_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == f"sniffer: error: {error}"
    assert done.stdout == ""


def test_the_package_root_holds_the_bench() -> None:
    assert (PACKAGE_ROOT / "benches" / "capture" / "sniffer.py").is_file()
