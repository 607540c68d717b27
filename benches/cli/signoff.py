"""``bench signoff``: run the sign-off suite for one or more builds and say GO or NO-GO.

Each build runs as its own pytest session (its own virtual rack, flashed with
that build), so builds never share state. The command holds the rack for all of
them (benches.rack.lock; the sessions run under its lock). Exit code 0 when every
build is GO, 1 when a build leaked, 2 when a build could not be proven clean, 4 when
another session holds the rack (``--wait`` waits for it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benches.cli.exits import CommandError
from benches.cli.rack_lock import WAIT_HELP, hold_rack
from benches.inventory import InventoryError, load_manifest, load_rack
from benches.inventory.models import INTERCEPTION_SETTINGS, Manifest, Rack
from benches.policy.decision import GO, NO_GO, decide
from benches.policy.verdict import Outcome
from benches.rack.lock import RackLock
from benches.redaction.masks import RAW_WARNING, SHOW_IDENTIFIERS_ENV, show_raw
from benches.redaction.rack_masker import use_rack
from benches.report.allure.generator import (
    AllureFailed,
    AllureUnavailable,
    describe,
    generate_report,
)
from benches.report.summary.writer import summary_dir, write_summary
from benches.report.verdict_log import (
    expected_count_path,
    read_expected_count,
    read_verdict_log,
    verdict_log_path,
)

REPO_TESTCASES = Path("testcases")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "signoff",
        help="run the sign-off suite for builds and say GO or NO-GO",
        description=(
            "Run testcases/ against each firmware manifest on the rack in devices.yaml "
            "(the virtual rack by default). Exit 0 all GO, 1 a build leaked, "
            "2 a build could not be proven clean, 4 the rack is in use by another session."
        ),
    )
    parser.add_argument(
        "--firmware",
        action="append",
        type=Path,
        help="a manifest; repeat for several (default: every firmware/*.yaml)",
    )
    parser.add_argument("--devices", type=Path, default=Path("devices.yaml"))
    parser.add_argument(
        "--cycles", type=int, default=1, help="cycles of each kind per phone (default: 1)"
    )
    parser.add_argument(
        "--flash", action="store_true", help="flash each build's image before its cycles"
    )
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    parser.add_argument(
        "--interception",
        choices=INTERCEPTION_SETTINGS,
        default=None,
        help="TLS interception at the gateway for every build: required, optional or off "
        "(default: each manifest's `interception:`, else off)",
    )
    parser.add_argument("--testcases", type=Path, default=REPO_TESTCASES)
    parser.add_argument("--wait", action="store_true", help=WAIT_HELP)
    parser.add_argument(
        "--serial",
        action="store_true",
        help="drive the phones one after another (default: all at once, a pytest-xdist "
        "worker per phone)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="pytest-xdist workers for a parallel run (default: one per phone)",
    )
    parser.add_argument(
        "--show-identifiers",
        action="store_true",
        help=f"show IMEIs, serials and other identifiers raw in every output (sets "
        f"{SHOW_IDENTIFIERS_ENV}=1): for an auditor's local run, never a report to share",
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class BuildOutcome:
    manifest: Manifest
    pytest_exit: int
    verdicts: Counter[str]
    expected_cycles: int
    summary: Path | None = None  # reports/signoff/<build>/index.html, when written

    @property
    def decision(self) -> str:
        return decide(self.verdicts, self.expected_cycles, self.pytest_exit).label


def run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise CommandError(f"--workers must be at least 1, not {args.workers}")
    if args.show_identifiers:
        os.environ[SHOW_IDENTIFIERS_ENV] = "1"  # for the pytest sessions too
    if show_raw():
        print(f"bench: {RAW_WARNING}", flush=True)
    manifests = _manifests(args.firmware)
    try:
        rack = load_rack(args.devices)
    except InventoryError as error:
        raise CommandError(str(error)) from None
    use_rack(rack)
    if not args.testcases.is_dir():
        raise CommandError(f"{args.testcases}: no sign-off suite here (run from the bench's repo)")
    # Held for every build's session (they run under it) until the report is written.
    with hold_rack(rack, wait=args.wait, command="signoff") as lock:
        return _sign_off(args, rack, manifests, lock)


def _sign_off(
    args: argparse.Namespace, rack: Rack, manifests: list[Manifest], lock: RackLock
) -> int:
    outcomes = []
    for number, manifest in enumerate(manifests):
        print(
            f"\n=== sign-off {number + 1}/{len(manifests)}: build {manifest.build} "
            f"({manifest.path}) on {rack.bench.name}, {len(rack.devices)} phones ===",
            flush=True,
        )
        log = verdict_log_path(args.reports, manifest.build)
        log.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(args.testcases),
            "-v",
            "-p",
            "no:cacheprovider",
            # Hypothesis's plugin (a test extra) costs each worker a second of CPU at start.
            "-p",
            "no:hypothesispytest",
            "--firmware",
            str(manifest.path),
            "--devices",
            str(args.devices),
            "--cycles",
            str(args.cycles),
            "--reports",
            str(args.reports),
        ]
        if not args.serial:
            # A worker per phone: each phone's cycles in order on its own worker.
            command += ["-n", str(args.workers or len(rack.devices))]
        if number == 0:
            command.append("--clean-alluredir")
        if args.flash:
            command.append("--flash")
        if args.interception:
            command += ["--interception", args.interception]
        expected_count_path(args.reports, manifest.build).unlink(missing_ok=True)
        (summary_dir(args.reports, manifest.build) / "summary.json").unlink(missing_ok=True)
        exit_code = subprocess.run(
            command, check=False, env={**os.environ, **lock.child_env()}, pass_fds=lock.fds
        ).returncode
        # Collected sign-off tests; without the count (the run stopped early), at least one.
        expected = read_expected_count(args.reports, manifest.build) or max(1, len(rack.devices))
        summary = _summary(args.reports, rack, manifest, exit_code)
        outcomes.append(BuildOutcome(manifest, exit_code, _read_verdicts(log), expected, summary))
    report = _generate_report(args.reports)
    _print_summary(outcomes, args.reports)
    print(report)
    return _exit_code(outcomes)


def _manifests(paths: list[Path] | None) -> list[Manifest]:
    paths = paths or sorted(Path("firmware").glob("*.yaml"))
    if not paths:
        raise CommandError("no firmware manifests: pass --firmware or add firmware/*.yaml")
    try:
        return [load_manifest(path) for path in paths]
    except InventoryError as error:
        raise CommandError(str(error)) from None


def _summary(reports: Path, rack: Rack, manifest: Manifest, exit_code: int) -> Path | None:
    """The summary the pytest session wrote; written here when the session could not."""
    index = summary_dir(reports, manifest.build) / "index.html"
    if (index.parent / "summary.json").exists():
        return index
    try:
        return write_summary(reports, rack, manifest, exit_code)[0]
    except OSError as error:
        print(f"sign-off summary of {manifest.build} not written: {error}", flush=True)
        return None


def _read_verdicts(log: Path) -> Counter[str]:
    """How many cycles had each verdict; a torn last line (a killed run) counts as none."""
    return Counter(str(line.get("verdict")) for line in read_verdict_log(log))


def _print_summary(outcomes: list[BuildOutcome], reports: Path) -> None:
    print("\n=== sign-off summary ===")
    for outcome in outcomes:
        counts = ", ".join(f"{outcome.verdicts[kind]} {kind}" for kind in Outcome)
        print(
            f"  {outcome.decision:<20} build {outcome.manifest.build:<12} "
            f"{outcome.manifest.path}  ({counts} of {outcome.expected_cycles} cycles)"
        )
        if outcome.summary is not None:
            print(f"  {'':<20} summary: {outcome.summary}")
    print(f"\nAllure results: {reports / 'allure-results'}")
    print(f"Pcaps:          {reports / 'pcaps'}/<build>/<phone>-<cycle>.pcap")
    print(f"Verdict logs:   {reports / 'verdicts'}/<build>.jsonl")


def _generate_report(reports: Path) -> str:
    """The HTML report, with the previous one's history; one line either way."""
    try:
        generated = generate_report([reports / "allure-results"], reports / "allure-report")
    except (AllureUnavailable, AllureFailed) as error:
        return f"Allure report:  not generated: {error}"
    return f"Allure report:  {describe(generated)}"


def _exit_code(outcomes: list[BuildOutcome]) -> int:
    decisions = {outcome.decision for outcome in outcomes}
    if NO_GO in decisions:
        return 1
    return 2 if decisions - {GO} else 0
