"""``bench report [RESULTS...] [--report DIR]``: allure-results rendered as the HTML report.

Several result directories (one per bench, say) merge into one report; the
previous report's history is carried over, so its trends show. Exit 0 with the
report written, 2 when there is no Allure CLI (or Java) here or it failed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benches.cli.exits import CommandError
from benches.report.allure.generator import (
    AllureFailed,
    AllureUnavailable,
    describe,
    generate_report,
)

RESULTS = Path("reports") / "allure-results"
REPORT = Path("reports") / "allure-report"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render allure-results as the HTML report",
        description=(
            "Render allure-results (one directory per bench, say) as one HTML report with "
            "the Allure CLI, keeping the previous report's history. Exit 0 written, 2 not."
        ),
    )
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        default=[RESULTS],
        metavar="RESULTS",
        help=f"allure-results directories (default: {RESULTS})",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=REPORT,
        metavar="DIR",
        help=f"where the report goes, replacing an earlier one (default: {REPORT})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        generated = generate_report(args.results, args.report)
    except (AllureUnavailable, AllureFailed) as error:
        raise CommandError(str(error)) from None
    print(f"Allure report: {describe(generated)}")
    return 0
