"""Time and peak memory of ``bench analyze`` on hostile captures: bombs and a ``.gz``.

    python benchmarks/hostile_bombs.py [--checkout DIR] [--jobs N] [--only NAME ...]

A benchmark, not a test: it prints figures and asserts nothing. The captures
come from tests/support/hostile.py (built into a temporary folder each run):

- ``segment``: 12 brotli bombs (64 MiB of zeros each) pipelined in one TCP segment;
- ``forty``: 40 brotli bombs over 8 connections;
- ``after`` / ``before``: one bomb of 70 MiB with the leaky JSON after / before the zeros;
- ``coords``: one brotli body of 64 MiB of numbers near the bench's coordinates (the
  detector's slowest input);
- ``nearmiss``: one brotli body (about 1 KB) of 64 MiB of numbers of both bands around
  the bench that never pair (the location search's slowest input, stopped by its
  per-flow work: inconclusive);
- ``gz512``: a ``.gz`` pcap of 76-byte non-IP records that expands to 512 MiB.

For each: the size of the file, ``bench analyze``'s verdict (exit code), wall
time and peak RSS (``os.wait4`` on the child), and tshark's time on the same file
(``tshark -r FILE -q``, decoding HTTP bodies as it does by default) as the peer's
figure. ``--checkout DIR`` runs the analyzer of another checkout (say, main) on
the same files, to compare before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
VERDICTS = {0: "pass", 1: "fail", 2: "inconclusive"}


def _reexec_in_venv() -> None:
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__)), *sys.argv[1:]])


if __name__ == "__main__":
    _reexec_in_venv()
sys.path.insert(0, str(ROOT))

from tests.support.analyzecli import rack_files  # noqa: E402

NAMES = ("segment", "forty", "after", "before", "coords", "nearmiss", "gz512")


def captures() -> dict[str, Callable[[Path], Path]]:
    """How each capture is made. Built in a child process (``--build``): scapy would
    raise this process's peak RSS, which Linux carries into every child it starts."""
    from tests.support import hostile

    return {
        "segment": lambda d: hostile.write(d / "segment.pcap", hostile.bombs_in_one_segment(12)),
        "forty": lambda d: hostile.write(d / "forty.pcap", hostile.bombs_in_flows(40, flows=8)),
        "after": lambda d: hostile.write(
            d / "after.pcap", hostile.leak_around_a_bomb(70 << 20, leak_first=False)
        ),
        "before": lambda d: hostile.write(
            d / "before.pcap", hostile.leak_around_a_bomb(70 << 20, leak_first=True)
        ),
        "gz512": lambda d: hostile.expanding_gz(d / "gz512.pcap.gz"),
        "coords": lambda d: hostile.write(d / "coords.pcap", hostile.coordinates_bomb_flow()),
        "nearmiss": lambda d: hostile.write(d / "nearmiss.pcap", hostile.near_miss_bomb_flow()),
    }


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, float, int]:
    """(exit code, seconds, peak RSS in KiB) of one child."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, time.perf_counter() - start, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the analyzer's checkout")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--only", nargs="*", choices=NAMES, default=NAMES)
    parser.add_argument("--build", nargs=2, metavar=("FOLDER", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(captures()[args.build[1]](Path(args.build[0])))
        return
    checkout = args.checkout.resolve()
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    tshark = shutil.which("tshark")
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        devices, firmware = rack_files(where)
        _, _, floor = timed([sys.executable, "-c", "pass"], where, env)
        print(f"analyzer: {checkout}  jobs: {args.jobs}  (a bare python: {floor // 1024} MiB)")
        print(f"{'capture':8} {'bytes':>9}  {'verdict':12} {'time':>7} {'peak RSS':>9}  tshark")
        for name in args.only:
            built = subprocess.run(
                [sys.executable, __file__, "--build", str(where), name],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            path = Path(built.stdout.strip())
            command = [sys.executable, "-m", "benches", "analyze", str(path),
                       "--devices", str(devices), "--firmware", str(firmware),
                       "--jobs", str(args.jobs)]  # fmt: skip
            code, seconds, peak = timed(command, checkout, env)
            peer = "-"
            if tshark is not None:
                _, peer_seconds, peer_peak = timed([tshark, "-r", str(path), "-q"], where, env)
                peer = f"{peer_seconds:6.2f} s {peer_peak // 1024:5d} MiB"
            verdict = VERDICTS.get(code, f"exit {code}")
            print(
                f"{name:8} {path.stat().st_size:9d}  {verdict:12} {seconds:6.2f}s "
                f"{peak // 1024:5d} MiB  {peer}"
            )


if __name__ == "__main__":
    main()
