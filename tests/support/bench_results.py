"""A bench's sign-off results directory, written the way `bench signoff --reports` leaves it,
for merge tests that need many shapes quickly (the live test merges real ones).

summary.json follows the summary's schema and its decision is the one rule's
(benches.policy.decision.decide) for the verdicts given; the evidence file and
the pcap are owner-only as the bench writes them; each cell has an allure-pytest
result whose historyId is the same on every bench, as allure-pytest makes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benches.policy.decision import decide
from benches.report.summary.content import CELL_TEXT, SCHEMA

PHONES = (("SI…1", "TA-1046"), ("SI…2", "TA-1046"))
FINGERPRINTS = {"00WW_3_22D": "Nokia/ta1046/22D:user", "00WW_3_22C": "Nokia/ta1046/22C:user"}


def write_bench_results(
    directory: Path,
    bench: str,
    builds: dict[str, Sequence[str]],
    *,
    raw: bool = False,
    labels: Sequence[str] = ("SI…1", "SI…2"),
) -> Path:
    """``builds``: build -> each phone's boot-cycle verdict ('pass', 'fail', 'inconclusive',
    'missing'). Returns ``directory``."""
    results = directory / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "environment.properties").write_text(f"bench={bench}\n")
    (results / "categories.json").write_text("[]\n")
    for build, verdicts in builds.items():
        _summary(directory, bench, build, verdicts, raw, labels)
        for slot, verdict in enumerate(verdicts, start=1):
            if verdict != "missing":
                _allure_result(results, build, slot, verdict)
    return directory


def _summary(
    directory: Path,
    bench: str,
    build: str,
    verdicts: Sequence[str],
    raw: bool,
    labels: Sequence[str],
) -> None:
    judged = [v for v in verdicts if v != "missing"]
    decision = decide(judged, len(verdicts), 0)
    rows = []
    for slot, verdict in enumerate(verdicts, start=1):
        pcap = f"phone{slot}-boot1.pcap"
        cell = {"cycle": "boot", "index": 1, "verdict": verdict, "text": CELL_TEXT[verdict],
                "attempt": 1, "findings": int(verdict == "fail"), "pcap": pcap}  # fmt: skip
        rows.append(
            {"phone": slot, "device": labels[slot - 1], "model": "TA-1046", "cells": [cell]}
        )
        pcaps = directory / "pcaps" / build
        pcaps.mkdir(parents=True, exist_ok=True)
        _private(pcaps / f"phone{slot}-boot1.pcap", b"\xd4\xc3\xb2\xa1" + bytes(20))
    passed, failed = judged.count("pass"), judged.count("fail")
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "build": build,
        "fingerprint": FINGERPRINTS.get(build, f"Nokia/ta1046/{build}:user"),
        "region": "global",
        "manifest": f"{build}.yaml",
        "bench": bench,
        "decision": decision.label,
        "reasons": list(decision.reasons),
        "tested_at": "2026-12-07T01:30:00+00:00",
        "generated": "2026-12-07T01:40:00+00:00",
        "pytest_exit": 0,
        "identifiers_raw": raw,
        "counts": {
            "expected": len(verdicts),
            "judged": len(judged),
            "pass": passed,
            "fail": failed,
            "inconclusive": len(judged) - passed - failed,
            "missing": len(verdicts) - len(judged),
        },  # fmt: skip
        "matrix": {"columns": [{"cycle": "boot", "index": 1}], "rows": rows},
        "findings": [],
        "inconclusive": [],
        "evidence": {"directory": "evidence", "files": {"pcaps.json": "the pcaps"}},
    }
    folder = directory / "signoff" / build
    (folder / "evidence").mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    (folder / "index.html").write_text(f"<html>{decision.label}</html>")
    _private(folder / "evidence" / "pcaps.json", b'{"pcaps": []}\n')


def _allure_result(results: Path, build: str, slot: int, verdict: str) -> None:
    name = f"test_boot[phone{slot}-cycle1]"
    history = hashlib.md5(f"test_boot#test_boot{build}{slot}".encode()).hexdigest()
    status = {"pass": "passed", "fail": "failed"}.get(verdict, "broken")
    result = {"uuid": str(uuid.uuid4()), "historyId": history, "testCaseId": history,
              "name": name, "fullName": "test_boot#test_boot", "status": status,
              "stage": "finished", "start": 1_700_000_000_000 + slot,
              "stop": 1_700_000_001_000 + slot,
              "parameters": [{"name": "phone", "value": f"'phone{slot}'"}],
              "labels": [{"name": "epic", "value": f"build {build}"},
                         {"name": "suite", "value": "test_boot"},
                         {"name": "host", "value": "vm"}]}  # fmt: skip
    (results / f"{result['uuid']}-result.json").write_text(json.dumps(result))


def _private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.chmod(path, 0o600)
