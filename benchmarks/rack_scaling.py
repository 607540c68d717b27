"""How the sign-off scales with the phones of a virtual rack: serial and parallel.

    sudo .venv/bin/python benchmarks/rack_scaling.py [--phones 1,6,12,24] [--serial-max 6]
        [--kinds boot,unlock,activation,idle]

Signs off firmware/ta1046-global-FIXED.yaml with `pytest testcases` on virtual racks
of N phones without relays or consoles (tests/support/many_phones.py), once with a
pytest-xdist worker per phone (`-n N`) and, up to --serial-max phones, one phone
after another. Prints the wall time of each run, its ratio to one phone's, and
the bench's own overhead per cycle: the time of a phone's cycles beyond the waits
its rack configures (boot, settle, screen-off and idle times), which on a real
rack are the phone's. Needs root (ports below 1024, the capture), as any sign-off.
No asserts: figures only.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benches.inventory import load_rack  # noqa: E402
from benches.inventory.models import Timings  # noqa: E402
from tests.support.many_phones import many_phones_text, signoff_command  # noqa: E402

FIXED = REPO / "firmware" / "ta1046-global-FIXED.yaml"
KINDS = ("boot", "unlock", "activation", "idle")


def configured_waits(timings: Timings, kind: str) -> float:
    """What one cycle of `kind` waits for by the rack's own timings (the phone's time)."""
    boot = timings.boot_offline_s + timings.boot_completed_s
    return {
        "boot": boot + timings.settle_s,
        "unlock": timings.screen_off_s + timings.settle_s,
        "activation": boot + timings.settle_s,
        "idle": timings.idle_s,
    }[kind]


def run(
    phones: int, parallel: bool, kinds: list[str], workdir: Path, extra: list[str]
) -> tuple[float, int, float]:
    """Wall seconds, pytest's exit code and the children's CPU seconds of one sign-off."""
    devices = workdir / f"rack{phones}.yaml"
    devices.write_text(many_phones_text(phones, shift=150, adb_port=5250))
    reports = workdir / f"reports-{phones}-{'parallel' if parallel else 'serial'}"
    command = signoff_command(devices, reports, kinds, FIXED, extra)
    if parallel:
        command += ["-n", str(phones)]
    # As `./run test`: without cached bytecode every worker compiles every module again
    # (~0.2 s of CPU each), which measures the shell (some sandboxes set this), not the bench.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        print(f"  exit {done.returncode}: {' | '.join(tail)}", flush=True)
    return wall, done.returncode, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", default="1,6,12,24")
    parser.add_argument("--serial-max", type=int, default=6, help="serial runs up to this many")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        help="more for pytest, e.g. --pytest-arg=-pno:hypothesispytest (as bench signoff runs)",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("rack_scaling: needs root (the virtual rack's ports, the capture)")
        return 2
    counts = [int(n) for n in args.phones.split(",")]
    kinds = args.kinds.split(",")
    timings = load_rack(REPO / "devices.yaml").bench.timings
    waits = sum(configured_waits(timings, kind) for kind in kinds)
    print(f"cycles per phone: {', '.join(kinds)}; configured waits per phone {waits:.1f} s")
    print(
        f"{'phones':>6} {'mode':>8} {'wall s':>8} {'vs 1':>6} {'cpu s':>7} {'overhead/cycle s':>17}"
    )
    one: float | None = None
    with tempfile.TemporaryDirectory(prefix="rack-scaling-") as scratch:
        for phones in counts:
            # One phone's time is the plain serial run's: the ratio counts xdist's cost too.
            modes = ([False] if phones <= args.serial_max else []) + [True]
            for parallel in modes:
                wall, code, cpu = run(phones, parallel, kinds, Path(scratch), args.pytest_arg)
                if phones == 1 and not parallel:
                    one = wall
                per_phone = wall if parallel else wall / phones
                overhead = (per_phone - waits) / len(kinds)
                ratio = f"{wall / one:.2f}" if one else "-"
                mode = "parallel" if parallel else "serial"
                print(
                    f"{phones:>6} {mode:>8} {wall:>8.1f} {ratio:>6} {cpu:>7.1f} {overhead:>17.1f}"
                    + ("" if code == 0 else f"  (exit {code})"),
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
