"""One bench's sign-off results, read and checked before anything is merged.

A bench's results directory is the ``--reports`` directory of its ``bench signoff``:
``signoff/<build>/summary.json`` per build (with the page and the evidence pack),
``allure-results/``, and ``pcaps/<build>/``. The bench's name is the one its
summaries record (the rack file's ``bench.name``). Anything that does not read as
that is refused with one line naming the directory or file: a merged answer built
on a damaged summary would vouch for what no bench said.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benches.policy.decision import GO, NO_GO, NO_GO_INCONCLUSIVE, decide
from benches.policy.verdict import Outcome
from benches.redaction.printable import printable
from benches.redaction.safe_files import UnsafePath, read_file
from benches.report.summary.content import SCHEMA

DECISIONS = (GO, NO_GO, NO_GO_INCONCLUSIVE)
COUNT_FIELDS = ("expected", "judged", "pass", "fail", "inconclusive", "missing")
SUMMARY_FILE = "summary.json"
MAX_SUMMARY_BYTES = 256 * 1024 * 1024


class MergeInputError(Exception):
    """A results directory the merge cannot use; ``str()`` is one line naming it."""


@dataclass(frozen=True)
class BuildResult:
    """One build as one bench signed it off: its summary.json, checked."""

    build: str
    directory: Path  # signoff/<build>/
    data: dict[str, Any]

    @property
    def decision(self) -> str:
        return str(self.data["decision"])

    @property
    def reasons(self) -> list[str]:
        return [str(reason) for reason in self.data.get("reasons") or ()]

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.data["counts"])

    @property
    def identifiers_raw(self) -> bool:
        return bool(self.data.get("identifiers_raw"))


@dataclass(frozen=True)
class BenchResults:
    """One bench's results directory: its name and each build it signed off."""

    directory: Path
    name: str
    builds: dict[str, BuildResult]

    @property
    def allure_results(self) -> Path:
        return self.directory / "allure-results"

    @property
    def pcaps(self) -> Path:
        return self.directory / "pcaps"


def read_bench_results(directory: Path) -> BenchResults:
    """The bench's results in ``directory``; :class:`MergeInputError` when it is not one."""
    shown = printable(str(directory))
    if not directory.is_dir():
        raise MergeInputError(f"{shown}: no such directory")
    signoff = directory / "signoff"
    summaries = sorted(signoff.glob(f"*/{SUMMARY_FILE}")) if signoff.is_dir() else []
    if not summaries:
        raise MergeInputError(
            f"{shown}: not a bench's sign-off results (no signoff/<build>/{SUMMARY_FILE})"
        )
    if not (directory / "allure-results").is_dir():
        raise MergeInputError(f"{shown}: not a bench's sign-off results (no allure-results/)")
    builds = {}
    names = set()
    for path in summaries:
        result = read_build_result(path)
        builds[result.build] = result
        names.add(str(result.data["bench"]))
    if len(names) > 1:
        listed = ", ".join(sorted(printable(name) for name in names))
        raise MergeInputError(f"{shown}: summaries of several benches in one directory ({listed})")
    return BenchResults(directory, names.pop(), builds)


def read_build_result(path: Path) -> BuildResult:
    """signoff/<build>/summary.json, checked: its fields, and a decision its counts back."""
    shown = printable(str(path))
    data = read_json(path, MAX_SUMMARY_BYTES, "summary")
    problem = _problem(data, path.parent.name)
    if problem:
        raise MergeInputError(f"{shown}: damaged summary: {problem}")
    return BuildResult(str(data["build"]), path.parent, data)


def read_json(path: Path, limit: int, what: str) -> Any:
    """A merge input's JSON, read without following a link, at most `limit` bytes;
    MergeInputError in one line naming the file and `what` it should be."""
    shown = printable(str(path))
    try:
        raw = read_file(path)
    except UnsafePath as error:
        raise MergeInputError(str(error)) from None
    except OSError as error:
        raise MergeInputError(f"{shown}: cannot read: {error.strerror}") from None
    if len(raw) > limit:
        raise MergeInputError(f"{shown}: damaged {what}: over {limit} bytes")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise MergeInputError(f"{shown}: damaged {what}: not JSON ({error})") from None


def _problem(data: Any, folder: str) -> str | None:
    """What is wrong with a summary.json, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("schema") != SCHEMA:
        return f"schema is {printable(repr(data.get('schema')))}, not {SCHEMA}"
    for key in ("bench", "build"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            return f"no {key} name"
    if data["build"] != folder:
        return f"it is build {printable(data['build'])}'s, in the folder of {printable(folder)}"
    if data.get("decision") not in DECISIONS:
        return f"decision {printable(repr(data.get('decision')))} is not one of {DECISIONS}"
    counts = data.get("counts")
    if not isinstance(counts, dict) or not all(_count(counts.get(k)) for k in COUNT_FIELDS):
        return f"counts must give {', '.join(COUNT_FIELDS)} as whole numbers"
    pytest_exit = data.get("pytest_exit")
    if not isinstance(pytest_exit, int) or isinstance(pytest_exit, bool):
        return "no pytest_exit"
    matrix = data.get("matrix")
    if not isinstance(matrix, dict) or not _matrix_ok(matrix):
        return "no bench x phone x cycle matrix"
    if not isinstance(data.get("reasons", []), list):
        return "reasons is not a list"
    verdicts = Counter(
        {
            Outcome.PASS.value: counts["pass"],
            Outcome.FAIL.value: counts["fail"],
            Outcome.INCONCLUSIVE.value: counts["inconclusive"],
        }
    )
    judged = counts["pass"] + counts["fail"] + counts["inconclusive"]
    if judged != counts["judged"] or counts["missing"] != max(0, counts["expected"] - judged):
        return "its counts do not add up"
    backed = decide(verdicts, counts["expected"], pytest_exit).label
    if backed != data["decision"]:
        return f"it says {data['decision']} where its counts say {backed}"
    return None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _matrix_ok(matrix: dict[str, Any]) -> bool:
    columns, rows = matrix.get("columns"), matrix.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        return False
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("cells"), list):
            return False
        if len(row["cells"]) != len(columns):
            return False
        if not all(cell is None or isinstance(cell, dict) for cell in row["cells"]):
            return False
    return all(
        isinstance(column, dict)
        and isinstance(column.get("cycle"), str)
        and _count(column.get("index"))
        for column in columns
    )
