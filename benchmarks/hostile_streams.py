"""Hostile captures of 1-3 MB: ``bench analyze``'s time and peak RSS on each, next to tshark's.

    python benchmarks/hostile_streams.py [--rounds R] [--scale F] [--shape NAME ...]

A benchmark, not a test: it prints figures and asserts nothing. Each shape of
tests/support/hostile_streams.py (one-byte segments sent backwards, stray copies
of one-byte chunks, held pieces overlapped by other bytes, floods of eight-byte
IP fragments, of empty or one-byte TLS records) is written at about 2 MB
(``--scale`` times that), then, round after round, ``bench analyze --json`` and
tshark (the fields analyze_throughput.py asks for) read it. The report gives each
one's median time, the analyzer's peak RSS (``os.wait4``), its verdict, whether
it found the planted IMEI, and the peer ratio: tshark's time over ours (above 1:
we are faster).

The regression tests for these shapes are tests/analysis/test_time_fuzz.py;
this shows what the shapes cost at the size an attacker would send.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
EXIT_NO_TSHARK = 2


def _reexec_in_venv() -> None:
    """Let any ``python`` start the script: move into the project's venv when not in it."""
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__)), *sys.argv[1:]])


if __name__ == "__main__":
    _reexec_in_venv()  # before the imports below, which need the bench's dependencies
sys.path[:0] = [str(HERE), str(ROOT)]

from analyze_throughput import (  # noqa: E402  (a sibling file; this directory is no package)
    Run,
    machine,
    python,
    run_measured,
    tshark_argv,
    tshark_version,
)

from tests.support import hostile_streams  # noqa: E402
from tests.support.analyzecli import rack_files  # noqa: E402

MIB = 1024.0  # ru_maxrss is in KiB on Linux


@dataclass
class Measured:
    shape: hostile_streams.Shape
    path: Path
    packets: int
    ours: list[Run] = field(default_factory=list)
    tshark: list[Run] = field(default_factory=list)
    verdict: str = "?"
    leak: bool = False  # the planted IMEI was reported
    reasons: int = 0  # inconclusive reasons


def analyzer_argv(pcap: Path, devices: Path, firmware: Path) -> list[str]:
    return [python(), "-m", "benches", "analyze", str(pcap), "--devices", str(devices),
            "--firmware", str(firmware), "--json"]  # fmt: skip


def judge(measured: Measured, devices: Path, firmware: Path) -> None:
    """One ``bench analyze --json`` run: its verdict, the leak, the inconclusive reasons."""
    with tempfile.TemporaryFile() as out:
        run = run_measured(analyzer_argv(measured.path, devices, firmware), out)
        out.seek(0)
        raw = out.read()
    measured.ours.append(run)
    try:
        document = json.loads(raw)
    except ValueError:
        measured.verdict = f"no JSON (exit {run.returncode}: {run.stderr.strip()[-80:]})"
        return
    measured.verdict = str(document.get("verdict"))
    measured.leak = any(
        f.get("kind") == "cleartext_identifier" and f.get("identifier") == "imei"
        for f in document.get("findings", [])
    )
    measured.reasons = len(document.get("reasons", []))


def report(results: Sequence[Measured]) -> list[str]:
    median = statistics.median
    lines = [
        f"  {'shape':<17} {'MiB':>5} {'packets':>8} {'ours s':>7} {'peak RSS':>9} "
        f"{'tshark s':>8} {'tshark/ours':>11}  verdict (IMEI found, inconclusive reasons)"
    ]
    for m in results:
        ours = median(r.seconds for r in m.ours)
        tshark = median(r.seconds for r in m.tshark)
        rss = median(r.max_rss_kib for r in m.ours) / MIB
        size = m.path.stat().st_size / (1 << 20)
        lines.append(
            f"  {m.shape.name:<17} {size:5.2f} {m.packets:>8,} {ours:7.2f} {rss:6.0f} MiB "
            f"{tshark:8.2f} {tshark / ours:10.2f}x  {m.verdict} "
            f"(IMEI {'found' if m.leak else 'not found'}, {m.reasons} reason(s))"
        )
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per shape (3)")
    parser.add_argument("--scale", type=float, default=1.0, help="size, 1.0 = about 2 MB")
    names = [s.name for s in hostile_streams.SHAPES]
    parser.add_argument("--shape", action="append", choices=names, help="only these shapes")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.scale <= 0:
        parser.error("--rounds must be at least 1 and --scale positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("tshark") is None:
        print("tshark not found: apt-get install tshark")
        return EXIT_NO_TSHARK
    print(f"machine: {machine()}; {tshark_version()}")
    shapes = [s for s in hostile_streams.SHAPES if not args.shape or s.name in args.shape]
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        devices, firmware = rack_files(Path(folder))
        results = []
        for shape in shapes:
            records = shape.build(max(1, round(shape.size_2mb * args.scale)))
            path = hostile_streams.write(Path(folder) / f"{shape.name}.pcap", records)
            results.append(Measured(shape, path, len(records)))
        for number in range(1, args.rounds + 1):
            for measured in results:
                judge(measured, devices, firmware)
                measured.tshark.append(run_measured(tshark_argv(measured.path)))
                ours, tshark = measured.ours[-1], measured.tshark[-1]
                print(
                    f"round {number}/{args.rounds}: {measured.shape.name:<17} ours "
                    f"{ours.seconds:6.2f} s ({ours.max_rss_kib / MIB:,.0f} MiB)  tshark "
                    f"{tshark.seconds:6.2f} s",
                    flush=True,
                )
        print(f"results (median of {args.rounds} round{'s' if args.rounds > 1 else ''}):")
        print("\n".join(report(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
