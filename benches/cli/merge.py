"""``bench merge DIR... [--out DIR]``: several benches' sign-offs as one answer per build.

Each DIR is one bench's ``--reports`` directory after ``bench signoff``. The
merge writes one Allure report and one sign-off summary per build: GO only when
every bench ran the build and said GO; a bench that did not run it shows "not
run there" and the build is NO-GO (inconclusive). Exit codes as ``bench
signoff``'s: 0 every build GO, 1 a build is NO-GO on some bench, 2 a build
could not be proven clean everywhere, or input the merge cannot use.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from benches.cli.exits import CommandError
from benches.policy.decision import GO, NO_GO
from benches.redaction.masks import RAW_WARNING, SHOW_IDENTIFIERS_ENV
from benches.redaction.printable import printable
from benches.report.allure.generator import (
    AllureFailed,
    AllureUnavailable,
    describe,
    generate_report,
)
from benches.report.merge.inputs import MergeInputError
from benches.report.merge.writer import MergeOutcome, write_merge

OUT = Path("reports-merged")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge several benches' sign-off results into one report and one GO/NO-GO",
        description=(
            "Merge benches' sign-off results (each a `bench signoff --reports` directory) "
            "into one Allure report and one summary per build. Exit 0 every build GO, "
            "1 a build is NO-GO on some bench, 2 not proven clean everywhere or bad input."
        ),
    )
    parser.add_argument("results", nargs="+", type=Path, metavar="DIR", help="a bench's reports")
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        metavar="DIR",
        help=f"where the merge goes, replacing an earlier merge (default: {OUT})",
    )
    parser.add_argument(
        "--show-identifiers",
        action="store_true",
        help="accept results signed off with --show-identifiers (raw identifiers)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raw = args.show_identifiers or os.environ.get(SHOW_IDENTIFIERS_ENV) == "1"
    try:
        outcome = write_merge(args.results, args.out, raw_identifiers=raw)
    except MergeInputError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(str(error)) from None
    report = _generate_report(outcome)
    _print(outcome)
    print(report)
    return _exit_code(outcome)


def _generate_report(outcome: MergeOutcome) -> str:
    try:
        generated = generate_report([outcome.allure_results], outcome.directory / "allure-report")
    except (AllureUnavailable, AllureFailed) as error:
        return f"Allure report:  not generated: {error}"
    return f"Allure report:  {describe(generated)}"


def _print(outcome: MergeOutcome) -> None:
    names = ", ".join(printable(bench.name) for bench in outcome.benches)
    print(f"=== merged sign-off: {len(outcome.benches)} benches ({names}) ===")
    if any(b.identifiers_raw for bench in outcome.benches for b in bench.builds.values()):
        print(f"bench: {RAW_WARNING}")
    for build in outcome.builds:
        decision = build.decision
        each = " · ".join(f"{printable(b.bench.name)} {b.decision}" for b in build.benches)
        print(f"  {decision.label:<20} build {printable(build.build):<12} {each}")
        for reason in decision.reasons:
            print(f"  {'':<20} {printable(reason)}")
        print(f"  {'':<20} summary: {outcome.summary(build.build)}")
    print(f"\nAllure results: {outcome.allure_results} ({outcome.results} test results)")


def _exit_code(outcome: MergeOutcome) -> int:
    decisions = {build.decision.label for build in outcome.builds}
    if NO_GO in decisions:
        return 1
    return 2 if decisions - {GO} else 0
