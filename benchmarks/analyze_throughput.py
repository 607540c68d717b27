"""Throughput of ``bench analyze`` against tshark and naive scapy, on one mixed capture.

    python benchmarks/analyze_throughput.py [--packets N] [--rounds R] [--regenerate]

A benchmark, not a test: it prints figures and the targets next to them and
asserts nothing. See benchmarks/README.md for what is measured and how.

1. Makes (or reuses from benchmarks/.cache/) a mixed capture of twenty phones
   (benchmarks/capture_gen.py), plus files of its first tenth and of its first
   20,000 packets.
2. Checks once that ``bench analyze`` runs on it and finds the planted leak.
3. Runs, round after round, one after the other: ``bench analyze`` on the
   whole file, tshark on the whole file, naive scapy dissection of the
   20,000-packet slice, and ``bench analyze`` on the first tenth.
4. Prints the medians: packets per second, the ratios, and the analyzer's
   peak RSS (whole file, tenth, and their ratio).

Every child's peak RSS comes from ``os.wait4`` on its pid. Linux carries the
spawning process's peak RSS into the child's ``ru_maxrss`` at exec, so this
process stays small (scapy is timed in a child of its own) and prints its own
peak as the floor below which a child's figure means nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _reexec_in_venv() -> None:
    """Let any ``python`` start the script: move into the project's venv when not in it."""
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__)), *sys.argv[1:]])


if __name__ == "__main__":
    _reexec_in_venv()  # before the imports below, which need the bench's dependencies
sys.path.insert(0, str(HERE))

import capture_gen  # noqa: E402  (a sibling file; this directory is no package)
import decoder_share  # noqa: E402

CACHE = HERE / ".cache"
RACK = HERE / "rack20.yaml"
FIRMWARE = ROOT / "firmware" / "ta1046-global-FIXED.yaml"
SCAPY_SLICE = 20_000
STARTUP_SLICE = 100
TSHARK_FIELDS = (
    "frame.number",
    "ip.dst",
    "dns.qry.name",
    "tls.handshake.extensions_server_name",
    "http.host",
)
# Targets, printed next to the figures and never asserted.
TARGET_TSHARK = 1.0  # ours/tshark at least this (aim: AIM_TSHARK)
AIM_TSHARK = 2.0
TARGET_SCAPY = 50.0  # ours/scapy at least this
# What the whole file costs in memory beyond its first tenth, at most this: nine tenths more
# packets must not mean much more memory. (The target was RSS(full)/RSS(tenth) <= 1.5x,
# which a smaller fixed footprint fails: the geo table took 93 MiB out of both runs and
# the ratio rose from 1.33x to 1.71x while the growth stayed at 57 MiB.)
TARGET_RSS_GROWTH_MIB = 64.0
EXIT_NO_TSHARK = 2
MIB = 1024.0  # ru_maxrss is in KiB on Linux


# --- running a child and measuring it -------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float  # wall clock, spawn to exit
    max_rss_kib: int  # the child's peak resident set (os.wait4)
    returncode: int
    stderr: str


def run_measured(
    argv: Sequence[str], stdout: IO[bytes] | int = subprocess.DEVNULL, cwd: Path = ROOT
) -> Run:
    """Run ``argv`` from the repository root (or `cwd`); its wall time and peak RSS from wait4."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(
            list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=errors
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        errors.seek(0)
        text = errors.read().decode("utf-8", "replace")
    return Run(seconds, usage.ru_maxrss, child.returncode, text)


def python() -> str:
    """The interpreter that has the bench installed: the project's venv when there is one."""
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


def analyzer_argv(pcap: Path, tree: Path = ROOT) -> list[str]:
    """`bench analyze` of the bench in `tree` (run from there: ``-m benches`` imports the
    package of the working directory), with that tree's own rack and manifest."""
    return [
        python(),
        "-m",
        "benches",
        "analyze",
        str(pcap),
        "--devices",
        str(tree / RACK.relative_to(ROOT)),
        "--firmware",
        str(tree / FIRMWARE.relative_to(ROOT)),
        "--json",
    ]


def tshark_argv(pcap: Path) -> list[str]:
    fields = [arg for name in TSHARK_FIELDS for arg in ("-e", name)]
    return ["tshark", "-r", str(pcap), "-T", "fields", *fields]


def decoders_line(pcap: Path) -> str:
    """The issue-13 decoders' share of a profiled run (decoder_share.py, in a child)."""
    done = subprocess.run(
        [python(), str(HERE / "decoder_share.py"), str(pcap), "--devices", str(RACK),
         "--firmware", str(FIRMWARE)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        return decoder_share.line(json.loads(done.stdout))
    except (ValueError, KeyError, TypeError, AssertionError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"  issue-13 decoders  not measured: {last}"


def compile_bench(tree: Path = ROOT) -> None:
    """Compile the bench's modules once, as installing it does: where bytecode is not
    written (PYTHONDONTWRITEBYTECODE), every run would compile them again, a cost of
    the environment, not of the analysis."""
    subprocess.run(
        [python(), "-m", "compileall", "-q", str(tree / "benches")],
        cwd=tree, stdout=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def run_analyzer(pcap: Path) -> Run:
    return run_measured(analyzer_argv(pcap))


def run_tshark(pcap: Path) -> Run:
    return run_measured(tshark_argv(pcap))


@dataclass(frozen=True)
class ScapyRun:
    run: Run
    packets: int
    loop_seconds: float  # dissection only: scapy's import and layer loading excluded


def run_scapy(pcap: Path) -> ScapyRun:
    """Naive scapy dissection of ``pcap`` in a child (see :func:`scapy_worker`)."""
    with tempfile.TemporaryFile() as out:
        run = run_measured([python(), str(Path(__file__)), "--scapy-worker", str(pcap)], out)
        out.seek(0)
        raw = out.read().decode("utf-8", "replace")
    try:
        result = json.loads(raw)
        return ScapyRun(run, int(result["packets"]), float(result["seconds"]))
    except (ValueError, KeyError, TypeError):
        return ScapyRun(run, 0, float("nan"))


def scapy_worker(pcap: Path) -> int:
    """Dissect every packet with all of scapy's layers (TLS, HTTP, QUIC loaded) and
    touch each layer; print {"packets", "seconds"} for the loop alone."""
    from scapy.all import load_layer
    from scapy.utils import PcapReader

    for layer in ("tls", "http", "quic"):
        load_layer(layer)
    count = 0
    started = time.perf_counter()
    with PcapReader(str(pcap)) as reader:
        for packet in reader:
            packet.summary()
            for part in packet.iterpayloads():
                _ = part.fields
            count += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"packets": count, "seconds": seconds}))
    return 0


# --- the one-off correctness check --------------------------------------------


@dataclass
class Check:
    """What one ``bench analyze --json`` run said about a capture."""

    returncode: int
    verdict: str | None = None
    findings: Counter[str] = field(default_factory=Counter)
    reasons: int = 0
    flows: int = 0
    leak_packets: tuple[int, ...] = ()  # planted-leak frames it reported
    error: str | None = None  # its stderr, if any (with no verdict: why)
    jobs: int = 0  # processes bench analyze reads the capture with (its --jobs default)
    engine: str = ""  # what walks the pcap records: the compiled walk or pure Python

    @property
    def found_leak(self) -> bool:
        return bool(self.leak_packets)


def check_analysis(pcap: Path, plant: capture_gen.Plant) -> Check:
    """Run ``bench analyze --json`` once and see whether it reports the planted leak."""
    with tempfile.TemporaryFile() as out:
        run = run_measured(analyzer_argv(pcap), out)
        out.seek(0)
        raw = out.read()
    try:
        document: dict[str, Any] = json.loads(raw)
        findings: list[dict[str, Any]] = document["findings"]
    except (ValueError, KeyError, TypeError):
        stderr = run.stderr.strip() or f"no JSON on stdout ({len(raw)} bytes)"
        return Check(run.returncode, error=stderr)
    phone = device_names(plant.device)
    leaks = tuple(
        int(f["packet"])
        for f in findings
        if f.get("kind") == "cleartext_identifier"
        and f.get("device") in phone
        and f.get("identifier") == plant.identifier
        and f.get("packet") in plant.frames
    )
    return Check(
        returncode=run.returncode,
        verdict=document.get("verdict"),
        findings=Counter(str(f.get("kind")) for f in findings),
        reasons=len(document.get("reasons", [])),
        flows=len(document.get("flows", [])),
        leak_packets=leaks,
        error=run.stderr.strip() or None,
    )


def device_names(serial: str) -> set[str]:
    """How ``bench analyze`` may name a phone of the rack: its serial, or its label
    (``"B2…7#7"``) when identifiers are masked in the output."""
    names = {serial}
    try:
        from benches.inventory import load_rack
        from benches.redaction.masks import device_labels
    except ImportError:  # a bench from before phones were labelled
        return names
    labels = device_labels(d.serial for d in load_rack(RACK).devices)
    if serial in labels:
        names.add(labels[serial].text)
    return names


def check_in_child(info: capture_gen.CaptureInfo) -> Check:
    """:func:`check_analysis` in a child process: reading the analyzer's JSON (tens of
    MiB for 400,000 packets) here would raise the RSS floor every later child inherits."""
    argv = [python(), str(Path(__file__)), "--check-worker", info.path]
    with tempfile.TemporaryFile() as out:
        run = run_measured(argv, out)
        out.seek(0)
        raw = out.read()
    try:
        document = json.loads(raw)
        document["findings"] = Counter(document["findings"])
        document["leak_packets"] = tuple(document["leak_packets"])
        return Check(**document)
    except (ValueError, KeyError, TypeError):
        return Check(run.returncode, error=run.stderr.strip() or "the check printed no result")


def check_worker(pcap: Path) -> int:
    """Print :func:`check_analysis` of a cached capture as JSON."""
    from benches.analysis.parallel import default_jobs
    from benches.analysis.pcap.recordwalk import engine

    check = check_analysis(pcap, capture_gen.read_info(pcap).plant)
    check.jobs = default_jobs([pcap])
    check.engine = engine()
    document = {f.name: getattr(check, f.name) for f in fields(check)}
    document["findings"] = dict(check.findings)  # asdict() would rebuild the Counter wrongly
    print(json.dumps(document))
    return 0


# --- the rounds ------------------------------------------------------------------


@dataclass
class Rounds:
    ours: list[Run] = field(default_factory=list)
    against: list[Run] = field(default_factory=list)  # --against's tree, when given
    tshark: list[Run] = field(default_factory=list)
    scapy: list[ScapyRun] = field(default_factory=list)
    tenth: list[Run] = field(default_factory=list)


def run_rounds(
    full: Path, tenth: Path, scapy_slice: Path, rounds: int, against: Path | None = None
) -> Rounds:
    """Alternate the contenders round by round, so drift hits them all alike."""
    results = Rounds()
    for number in range(1, rounds + 1):
        results.ours.append(run_analyzer(full))
        if against is not None:
            results.against.append(run_measured(analyzer_argv(full, against), cwd=against))
        results.tshark.append(run_tshark(full))
        results.scapy.append(run_scapy(scapy_slice))
        results.tenth.append(run_analyzer(tenth))
        print(round_line(number, rounds, results), flush=True)
    return results


def round_line(number: int, total: int, results: Rounds) -> str:
    ours, tshark, scapy, tenth = (
        results.ours[-1],
        results.tshark[-1],
        results.scapy[-1],
        results.tenth[-1],
    )
    other = ""
    if results.against:
        run = results.against[-1]
        other = f"  against {run.seconds:6.2f} s{_exit_note(run)}"
    return (
        f"round {number}/{total}: ours {ours.seconds:7.2f} s ({_mib(ours.max_rss_kib)})"
        f"{other}  tshark {tshark.seconds:6.2f} s{_exit_note(tshark)}"
        f"  scapy {scapy.loop_seconds:6.2f} s/{scapy.packets:,} pkts{_exit_note(scapy.run)}"
        f"  ours-tenth {tenth.seconds:6.2f} s ({_mib(tenth.max_rss_kib)}){_exit_note(tenth)}"
    )


def _exit_note(run: Run) -> str:
    return "" if run.returncode in (0, 1) else f" [exit {run.returncode}]"


def _mib(kib: float) -> str:
    return f"{kib / MIB:,.0f} MiB"


# --- the report ------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    ours_pps: float
    tshark_pps: float
    scapy_pps: float
    rss_full_kib: float
    rss_tenth_kib: float

    @property
    def vs_tshark(self) -> float:
        return self.ours_pps / self.tshark_pps

    @property
    def vs_scapy(self) -> float:
        return self.ours_pps / self.scapy_pps

    @property
    def rss_ratio(self) -> float:
        return self.rss_full_kib / self.rss_tenth_kib

    @property
    def rss_growth_mib(self) -> float:
        return (self.rss_full_kib - self.rss_tenth_kib) / MIB


def figures(results: Rounds, packets: int) -> Figures:
    median = statistics.median
    return Figures(
        ours_pps=packets / median(r.seconds for r in results.ours),
        tshark_pps=packets / median(r.seconds for r in results.tshark),
        scapy_pps=median(s.packets / s.loop_seconds for s in results.scapy),
        rss_full_kib=median(r.max_rss_kib for r in results.ours),
        rss_tenth_kib=median(r.max_rss_kib for r in results.tenth),
    )


def report(results: Rounds, fig: Figures, packets: int, tenth_packets: int) -> list[str]:
    median = statistics.median
    rounds = len(results.ours)
    scapy_packets = results.scapy[0].packets
    tenth_s = median(r.seconds for r in results.tenth)
    return [
        f"results (median of {rounds} round{'s' if rounds > 1 else ''}):",
        _row(
            "bench analyze",
            packets,
            median(r.seconds for r in results.ours),
            fig.ours_pps,
            f"peak RSS {_mib(fig.rss_full_kib)}",
        ),
        _row(
            "tshark",
            packets,
            median(r.seconds for r in results.tshark),
            fig.tshark_pps,
            f"peak RSS {_mib(median(r.max_rss_kib for r in results.tshark))}",
        ),
        _row(
            "scapy (naive)",
            scapy_packets,
            median(s.loop_seconds for s in results.scapy),
            fig.scapy_pps,
            "dissection loop only",
        ),
        _row(
            "bench analyze",
            tenth_packets,
            tenth_s,
            tenth_packets / tenth_s,
            f"peak RSS {_mib(fig.rss_tenth_kib)} (first tenth)",
        ),
        "ratios and targets (printed, not asserted):",
        _target(
            "ours / tshark",
            fig.vs_tshark,
            f">= {TARGET_TSHARK:g}x (aim {AIM_TSHARK:g}x)",
            fig.vs_tshark >= TARGET_TSHARK,
        ),
        _target(
            "ours / scapy", fig.vs_scapy, f">= {TARGET_SCAPY:g}x", fig.vs_scapy >= TARGET_SCAPY
        ),
        f"  {'RSS full / tenth':<17} {fig.rss_ratio:8.2f}x   (no target: see RSS growth)",
        f"  {'RSS growth':<17} {fig.rss_growth_mib:5.0f} MiB   target <= "
        f"{TARGET_RSS_GROWTH_MIB:g} MiB beyond the first tenth  "
        f"{'met' if fig.rss_growth_mib <= TARGET_RSS_GROWTH_MIB else 'NOT met'}",
        *against_lines(results, packets, fig),
    ]


def against_lines(results: Rounds, packets: int, fig: Figures) -> list[str]:
    """--against's tree beside ours: its time and its own ratio to the same tshark runs."""
    if not results.against:
        return []
    seconds = statistics.median(r.seconds for r in results.against)
    ratio = (packets / seconds) / fig.tshark_pps
    # Round by round, the two ran one right after the other: a load that comes and goes
    # moves both medians, the count of rounds each won less.
    pairs = list(zip(results.ours, results.against, strict=True))
    won = sum(1 for ours, its in pairs if ours.seconds < its.seconds)
    per_round = statistics.median(its.seconds / ours.seconds for ours, its in pairs)
    return [
        "the other tree (--against), same capture, same rounds:",
        _row("its analyze", packets, seconds, packets / seconds, ""),
        f"  {'its / tshark':<17} {ratio:8.2f}x   ours / its {fig.vs_tshark / ratio:.2f}x",
        f"  {'round by round':<17} ours faster in {won} of {len(pairs)}, "
        f"median of its time / ours {per_round:.2f}x",
    ]


def _row(name: str, packets: int, seconds: float, pps: float, note: str) -> str:
    return f"  {name:<15} {packets:>9,} pkts {seconds:8.2f} s {pps:>10,.0f} pkt/s  {note}"


def _target(name: str, value: float, target: str, met: bool) -> str:
    return f"  {name:<17} {value:8.2f}x   target {target:<20} {'met' if met else 'NOT met'}"


# --- main ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Throughput of `bench analyze` against tshark and naive scapy."
    )
    parser.add_argument("--packets", type=int, default=400_000, help="capture size (400000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument(
        "--regenerate", action="store_true", help="make the capture again even if cached"
    )
    parser.add_argument(
        "--seed", type=int, default=capture_gen.DEFAULT_SEED, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout of the bench (a git worktree of an older commit): its "
        "`bench analyze` runs in the same rounds, on the same capture, with its own rack "
        "and manifest files, and its ratio to tshark is printed beside ours",
    )
    parser.add_argument("--scapy-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.packets < 10 or args.rounds < 1:
        parser.error("--packets must be at least 10 and --rounds at least 1")
    return args


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({model}), load average {load}, Python {sys.version.split()[0]}"


def tshark_version() -> str:
    done = subprocess.run(
        ["tshark", "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    return done.stdout.splitlines()[0] if done.stdout else "tshark (version unknown)"


def prepare(args: argparse.Namespace) -> tuple[capture_gen.CaptureInfo, Path, Path, Path]:
    """The capture (cached or made now) and its tenth, scapy and start-up slices."""
    info, cached = capture_gen.ensure_capture(
        CACHE, args.packets, args.seed, regenerate=args.regenerate
    )
    full = Path(info.path)
    how = "cached" if cached else f"generated in {info.seconds:.1f} s"
    size = full.stat().st_size / (1 << 20)
    print(f"capture: {_relative(full)}  {info.packets:,} packets, {size:,.1f} MiB ({how})")
    mix = capture_gen.count_mix(full)
    total = sum(mix.values())
    shares = "  ".join(f"{k} {v:,} ({v / total:.1%})" for k, v in sorted(mix.items()))
    print(f"mix (read back from the file): {shares}")
    tenth = capture_gen.cached_head(info, max(1, info.packets // 10))
    scapy_slice = capture_gen.cached_head(info, min(SCAPY_SLICE, info.packets))
    startup = capture_gen.cached_head(info, min(STARTUP_SLICE, info.packets))
    return info, tenth, scapy_slice, startup


def print_check(check: Check, plant: capture_gen.Plant) -> None:
    if check.verdict is None:
        print(f"check: bench analyze FAILED (exit {check.returncode}):")
        print("\n".join("  " + line for line in (check.error or "").splitlines()[-20:]))
        return
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(check.findings.items())) or "none"
    found = (
        f"found at packets {', '.join(map(str, check.leak_packets))}"
        if check.found_leak
        else "NOT found"
    )
    print(
        f"check: bench analyze exit {check.returncode}, verdict {check.verdict}, "
        f"{check.flows:,} flows, findings: {kinds}, {check.reasons} inconclusive reason(s); "
        f"{check.jobs} process(es) read the file (--jobs default)"
    )
    print(f"check: pcap records walked by {check.engine}")
    print(
        f"check: planted {plant.identifier} of {plant.device} in packets "
        f"{', '.join(map(str, plant.frames))}: {found}"
    )
    if check.error:
        print(f"check: stderr: {check.error.splitlines()[-1]}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.scapy_worker is not None:
        return scapy_worker(args.scapy_worker)
    if args.check_worker is not None:
        return check_worker(args.check_worker)
    if shutil.which("tshark") is None:
        print("tshark not found: apt-get install tshark")
        return EXIT_NO_TSHARK
    print(f"machine: {machine()}; {tshark_version()}")
    info, tenth, scapy_slice, startup = prepare(args)
    compile_bench()
    against = args.against.resolve() if args.against else None
    if against is not None:
        compile_bench(against)
        print(f"against: {against} at {_commit(against)}")
    check = check_in_child(info)
    print_check(check, info.plant)
    started = run_analyzer(startup)
    print(f"start-up: bench analyze on a {STARTUP_SLICE}-packet file takes {started.seconds:.2f} s")
    results = run_rounds(Path(info.path), tenth, scapy_slice, args.rounds, against)
    fig = figures(results, info.packets)
    print("\n".join(report(results, fig, info.packets, max(1, info.packets // 10))))
    print(decoders_line(Path(info.path)))
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"RSS floor: this harness peaked at {_mib(floor)}; no child's figure can be lower")
    return 0 if check.verdict is not None else 1


def _commit(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip()[:80] or "an unknown commit"


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
