"""A long parallel sign-off, watching the bench's own processes for leaks.

    sudo .venv/bin/python benchmarks/soak.py [--phones 24] [--cycles 50] [--kinds boot,idle]
        [--every 10] [--max-minutes 60]

Runs `pytest testcases -n PHONES --cycles CYCLES` on a virtual rack of PHONES
phones (tests/support/many_phones.py) signing off firmware/ta1046-global-FIXED.yaml,
and every --every seconds samples, over the controller and its workers, the
resident memory (RSS), open file descriptors and threads, from /proc. Prints one
line per sample and, at the end, the first and last samples after warm-up (the
first tenth of the run) side by side. Stops the run at --max-minutes. Needs root,
as any sign-off. No asserts: figures only.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.many_phones import many_phones_text, signoff_command  # noqa: E402

FIXED = REPO / "firmware" / "ta1046-global-FIXED.yaml"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the start
    processes: int
    rss_mb: float  # all of them
    pss_mb: float  # all of them, pages shared between processes counted once (forked workers)
    worker_rss_mb: float  # the largest worker
    controller_rss_mb: float
    fds: int
    threads: int
    controller_cpu_s: float  # user + system so far: the simulator and adb traffic live here
    workers_cpu_s: float  # of the workers alive now


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc's parent links)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, ()))
    return found


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def pss_mb(pid: int) -> float:
    """Proportional set size: a page shared by N processes counts 1/N in each. Forked
    workers share the fork server's pages, which their RSS each counts in full."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for entry in rollup:
            if entry.startswith("Pss:"):
                return int(entry.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def sample(root: int, started: float) -> Sample | None:
    rss: dict[int, float] = {}
    pss: dict[int, float] = {}
    cpu: dict[int, float] = {}
    fds = count = 0
    for pid in descendants(root):
        try:
            cpu[pid] = cpu_s(pid)
            rss[pid] = rss_mb(pid)
            pss[pid] = pss_mb(pid)
            fds += len(os.listdir(f"/proc/{pid}/fd"))
            count += threads(pid)
        except OSError:  # gone meanwhile
            continue
    if root not in rss:
        return None
    workers = [value for pid, value in rss.items() if pid != root]
    return Sample(
        time.monotonic() - started,
        len(rss),
        sum(rss.values()),
        sum(pss.values()),
        max(workers, default=0.0),
        rss[root],
        fds,
        count,
        cpu.get(root, 0.0),
        sum(value for pid, value in cpu.items() if pid != root),
    )


def line(s: Sample) -> str:
    return (
        f"{s.at:7.0f} s  {s.processes:3d} processes  "
        f"RSS {s.rss_mb:7.1f} MB, PSS {s.pss_mb:7.1f} MB "
        f"(controller {s.controller_rss_mb:6.1f}, largest worker {s.worker_rss_mb:6.1f})  "
        f"fds {s.fds:5d}  threads {s.threads:5d}  "
        f"CPU s: controller {s.controller_cpu_s:6.1f}, workers {s.workers_cpu_s:6.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=24)
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--kinds", default="boot,unlock,activation,idle")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--max-minutes", type=float, default=60.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("soak: needs root (the virtual rack's ports, the capture)")
        return 2
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        devices = Path(scratch) / "devices.yaml"
        # Its own bench name, so the rack lock never confuses it with
        # rack_scaling.py's rack of as many phones.
        text = many_phones_text(args.phones, shift=151, adb_port=5251)
        devices.write_text(text.replace("name: virtual-rack-", "name: soak-rack-", 1))
        command = signoff_command(
            devices,
            Path(scratch) / "reports",
            args.kinds.split(","),
            FIXED,
            ["-n", str(args.phones), "--cycles", str(args.cycles)],
        )
        started = time.monotonic()
        log = open(Path(scratch) / "pytest.log", "w")  # noqa: SIM115
        run = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        samples: list[Sample] = []
        deadline = started + args.max_minutes * 60
        while run.poll() is None:
            if time.monotonic() > deadline:
                print(f"soak: stopping the run at {args.max_minutes:g} minutes", flush=True)
                run.send_signal(signal.SIGINT)
                run.wait(timeout=120)
                break
            taken = sample(run.pid, started)
            if taken is not None:
                samples.append(taken)
                print(line(taken), flush=True)
            time.sleep(args.every)
        log.close()
        tail = (Path(scratch) / "pytest.log").read_text().strip().splitlines()[-1:]
        print(f"pytest exit {run.returncode}: {' '.join(tail)}")
    # Samples taken while the workers wind down (or the controller writes the
    # report alone) are not the steady state: keep those with the full set of processes.
    typical = statistics.median(s.processes for s in samples) if samples else 0
    running = [s for s in samples if s.processes >= 0.9 * typical]
    if len(running) >= 4:
        warm = running[len(running) // 10 :]
        first, last = warm[0], warm[-1]
        print("after warm-up, first and last sample:")
        print("  " + line(first))
        print("  " + line(last))
    return 0


if __name__ == "__main__":
    sys.exit(main())
