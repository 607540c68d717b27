"""``bench signoff``: run the sign-off suite for one or more builds and say GO or NO-GO.

Each build runs as its own pytest session (its own virtual rack, flashed with
that build), so builds never share state. Exit code 0 when every build is GO,
1 when a build leaked, 2 when a build could not be proven clean.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benches.cli import CommandError
from benches.inventory import InventoryError, load_manifest, load_rack
from benches.inventory.models import Manifest
from benches.verdict_log import verdict_log_path

REPO_TESTCASES = Path("testcases")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "signoff",
        help="run the sign-off suite for builds and say GO or NO-GO",
        description=(
            "Run testcases/ against each firmware manifest on the rack in devices.yaml "
            "(the virtual rack by default). Exit 0 all GO, 1 a build leaked, "
            "2 a build could not be proven clean."
        ),
    )
    parser.add_argument(
        "--firmware",
        action="append",
        type=Path,
        help="a manifest; repeat for several (default: every firmware/*.yaml)",
    )
    parser.add_argument("--devices", type=Path, default=Path("devices.yaml"))
    parser.add_argument("--cycles", type=int, default=1, help="boot cycles per phone")
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    parser.add_argument("--testcases", type=Path, default=REPO_TESTCASES)
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class BuildOutcome:
    manifest: Manifest
    pytest_exit: int
    verdicts: Counter[str]
    expected_cycles: int

    @property
    def decision(self) -> str:
        judged = sum(self.verdicts.values())
        if self.verdicts["fail"]:
            return "NO-GO"
        if self.verdicts["inconclusive"] or judged < self.expected_cycles or self.pytest_exit:
            return "NO-GO (inconclusive)"
        return "GO"


def run(args: argparse.Namespace) -> int:
    manifests = _manifests(args.firmware)
    try:
        rack = load_rack(args.devices)
    except InventoryError as error:
        raise CommandError(str(error)) from None
    if not args.testcases.is_dir():
        raise CommandError(f"{args.testcases}: no sign-off suite here (run from the bench's repo)")
    expected = len(rack.devices) * args.cycles
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
            "--firmware",
            str(manifest.path),
            "--devices",
            str(args.devices),
            "--cycles",
            str(args.cycles),
            "--reports",
            str(args.reports),
        ]
        if number == 0:
            command.append("--clean-alluredir")
        exit_code = subprocess.run(command, check=False).returncode
        outcomes.append(BuildOutcome(manifest, exit_code, _read_verdicts(log), expected))
    _print_summary(outcomes, args.reports)
    return _exit_code(outcomes)


def _manifests(paths: list[Path] | None) -> list[Manifest]:
    paths = paths or sorted(Path("firmware").glob("*.yaml"))
    if not paths:
        raise CommandError("no firmware manifests: pass --firmware or add firmware/*.yaml")
    try:
        return [load_manifest(path) for path in paths]
    except InventoryError as error:
        raise CommandError(str(error)) from None


def _read_verdicts(log: Path) -> Counter[str]:
    if not log.exists():
        return Counter()
    return Counter(json.loads(line)["verdict"] for line in log.read_text().splitlines() if line)


def _print_summary(outcomes: list[BuildOutcome], reports: Path) -> None:
    print("\n=== sign-off summary ===")
    for outcome in outcomes:
        counts = ", ".join(f"{outcome.verdicts[v]} {v}" for v in ("pass", "fail", "inconclusive"))
        print(
            f"  {outcome.decision:<20} build {outcome.manifest.build:<12} "
            f"{outcome.manifest.path}  ({counts} of {outcome.expected_cycles} cycles)"
        )
    print(
        f"\nAllure results: {reports / 'allure-results'}  "
        f"(open with the Allure CLI: allure serve {reports / 'allure-results'})"
    )
    print(f"Pcaps:          {reports / 'pcaps'}/<build>/<phone>-<cycle>.pcap")
    print(f"Verdict logs:   {reports / 'verdicts'}/<build>.jsonl")


def _exit_code(outcomes: list[BuildOutcome]) -> int:
    decisions = {outcome.decision for outcome in outcomes}
    if "NO-GO" in decisions:
        return 1
    return 2 if decisions - {"GO"} else 0
