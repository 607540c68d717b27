"""One JSON line per judged cycle, so `bench signoff` can decide GO / NO-GO per build.

Lines hold the verdict, the masked findings and what the sign-off summary draws
(flows, name maps, capture health, the pcap's SHA-256), never raw identifiers.
Everyone reads the log through :func:`read_verdict_log`, which tolerates the torn
last line a killed run leaves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benches.policy.judge import CycleResult
from benches.redaction.masks import device_label
from benches.redaction.safe_files import append_text, write_file
from benches.report.cycle_entry import cycle_entry


def verdict_log_path(reports: Path, build: str) -> Path:
    return reports / "verdicts" / f"{build}.jsonl"


def expected_count_path(reports: Path, build: str) -> Path:
    """How many cycle verdicts the run collected tests for: fewer verdicts is not a GO."""
    return reports / "verdicts" / f"{build}.expected"


def write_expected_count(reports: Path, build: str, count: int) -> None:
    write_file(expected_count_path(reports, build), f"{count}\n", root=reports)


def read_expected_count(reports: Path, build: str) -> int | None:
    try:
        return int(expected_count_path(reports, build).read_text())
    except (OSError, ValueError):
        return None


def read_verdict_log(path: Path) -> list[dict[str, Any]]:
    """The log's lines, in order; none when there is no log.

    A line that is not a whole JSON object is left out: a run killed while it
    wrote leaves its last line torn. Leaving it out never helps a build: that
    cycle then has no verdict, and a cycle without one is not GO.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = []
    for text in data.decode("utf-8", errors="replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


def append_verdict(path: Path, result: CycleResult, reports: Path | None = None) -> None:
    """One line at the end of ``path``; its folders below ``reports`` (by default its own
    folder) are made following no link, and a link at ``path`` is refused."""
    record = result.record
    line = {
        "device": device_label(record.serial),
        "cycle": record.kind,
        "index": record.index,
        "verdict": result.verdict.outcome.value,
        "pcap": str(record.pcap),
        "summary": result.summary(),
        # What the sign-off summary (benches/summary) needs: findings, flows, name maps,
        # capture health, the pcap's SHA-256, placements, attempt, console.
        **cycle_entry(result),
    }
    append_text(path, json.dumps(line) + "\n", root=path.parent if reports is None else reports)
