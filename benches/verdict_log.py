"""One JSON line per judged cycle, so `bench signoff` can decide GO / NO-GO per build.

Lines hold the verdict and masked finding messages only, never raw identifiers.
"""

from __future__ import annotations

import json
from pathlib import Path

from benches.judge import CycleResult


def verdict_log_path(reports: Path, build: str) -> Path:
    return reports / "verdicts" / f"{build}.jsonl"


def append_verdict(path: Path, result: CycleResult) -> None:
    record = result.record
    line = {
        "device": record.serial,
        "cycle": record.kind,
        "index": record.index,
        "verdict": result.verdict.verdict,
        "pcap": str(record.pcap),
        "summary": result.summary(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as log:
        log.write(json.dumps(line) + "\n")
