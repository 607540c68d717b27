"""Which sign-off cycles a run collected, so a missing verdict shows as a hole in the matrix.

The plugin writes ``reports/verdicts/<build>.plan.json`` beside the collected
count: one cell per sign-off test (phone, cycle kind, cycle index), phones
named by ``device_ref``. A test the plan cannot place (no ``cycle`` marker, no
``phone`` parameter) still counts in ``<build>.expected``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from benches.redaction.safe_files import write_file


@dataclass(frozen=True, order=True)
class Planned:
    device_ref: str
    kind: str
    index: int


def plan_path(reports: Path, build: str) -> Path:
    return reports / "verdicts" / f"{build}.plan.json"


def write_plan(reports: Path, build: str, cells: Iterable[Planned]) -> None:
    rows = [{"device_ref": c.device_ref, "cycle": c.kind, "index": c.index} for c in cells]
    write_file(plan_path(reports, build), json.dumps(rows, indent=1) + "\n", root=reports)


def read_plan(reports: Path, build: str) -> list[Planned] | None:
    try:
        rows = json.loads(plan_path(reports, build).read_text())
        return [Planned(r["device_ref"], r["cycle"], int(r["index"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return None
