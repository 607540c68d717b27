"""The summary as data: what summary.json holds and the HTML page shows.

Phones appear as "phone N · <masked serial> · model"; identifier values are the
findings' masked ones. Nothing here reads a pcap or devices.yaml's identities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benches.policy.verdict import Outcome
from benches.redaction.masks import show_raw
from benches.report.summary.charts.traffic import Bar
from benches.report.summary.model import MISSING, MISSING_TEXT, BuildSummary, Cycle

SCHEMA = "benches.pytestplugin.signoff-summary/1"
CELL_TEXT = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "FAIL",
    Outcome.INCONCLUSIVE: "inconclusive",
    MISSING: MISSING_TEXT,
}
# Finding fields summary.json keeps, in this order (the finding's `device` is replaced by
# the phone's masked label).
FINDING_FIELDS = (
    "kind",
    "message",
    "identifier",
    "value",
    "form",
    "encoding",
    "dst_host",
    "dst_ip",
    "dst_embedded_ipv4",
    "dst_embedding",
    "dst_port",
    "country",
    "owner",
    "protocol",
    "packet",
    "evidence",
    "occurrences",
)


def cell_text(verdict: str) -> str:
    return CELL_TEXT.get(verdict, verdict)


def finding_rows(summary: BuildSummary) -> list[dict[str, Any]]:
    """Every finding of every judged cycle, with its phone, cycle, pcap and placement."""
    rows = []
    for cycle in summary.judged():
        entry = cycle.data
        placements = entry.get("placements") or {}
        for finding in entry.get("findings") or ():
            row = _where(cycle)
            row.update({key: finding.get(key) for key in FINDING_FIELDS})
            row["pcap"] = Path(str(finding.get("pcap") or entry.get("pcap") or "")).name
            row["when"] = placements.get(str(finding.get("packet")))
            rows.append(row)
    return rows


def inconclusive_rows(summary: BuildSummary) -> list[dict[str, Any]]:
    """Cycles that cannot back a pass, and why: inconclusive verdicts and missing ones."""
    rows = []
    for phone in summary.phones:
        for column in summary.columns:
            cycle = summary.cell(phone, column)
            if cycle is None or cycle.verdict not in (Outcome.INCONCLUSIVE, MISSING):
                continue
            reasons = cycle.data.get("reasons") or [
                "the test has no verdict: the phone was taken out of the session "
                "or the run stopped (see the Allure report's Bench fault category)"
            ]
            rows.append({**_where(cycle), "verdict": cycle.verdict, "reasons": list(reasons)})
    return rows


def matrix(summary: BuildSummary) -> dict[str, Any]:
    columns = [{"cycle": c.kind, "index": c.index} for c in summary.columns]
    rows = []
    for phone in summary.phones:
        cells: list[dict[str, Any] | None] = []
        for column in summary.columns:
            cycle = summary.cell(phone, column)
            if cycle is None:
                cells.append(None)  # this phone had no such test collected
                continue
            entry = cycle.data
            cells.append(
                {
                    "cycle": column.kind,
                    "index": column.index,
                    "verdict": cycle.verdict,
                    "text": cell_text(cycle.verdict),
                    "attempt": entry.get("attempt"),
                    "findings": len(entry.get("findings") or ()),
                    "pcap": cycle.pcap_name or None,
                    # TLS flows opened, opaque, not tried, QUIC blocked (None: no interception)
                    "tls": entry.get("tls"),
                }
            )
        rows.append(
            {"phone": phone.slot, "device": phone.label, "model": phone.model, "cells": cells}
        )
    return {"columns": columns, "rows": rows}


def counts(summary: BuildSummary) -> dict[str, int]:
    verdicts = [str(c.entry.get("verdict")) for c in summary.judged() if c.entry]
    verdicts += [str(line.get("verdict")) for line in summary.strays]
    judged = len(verdicts)
    passed, failed = verdicts.count(Outcome.PASS), verdicts.count(Outcome.FAIL)
    return {
        "expected": summary.expected,
        "judged": judged,
        "pass": passed,
        "fail": failed,
        "inconclusive": judged - passed - failed,  # an unknown verdict counts here too
        "missing": max(0, summary.expected - judged),
    }


def summary_json(
    summary: BuildSummary,
    bars: list[Bar],
    evidence: dict[str, str],
    framework: dict[str, str],
    charts: dict[str, str],
) -> dict[str, Any]:
    manifest, tested = summary.manifest, summary.tested_at
    return {
        "schema": SCHEMA,
        "build": manifest.build,
        "fingerprint": manifest.fingerprint,
        "region": manifest.region,
        "manifest": manifest.path.name,
        "bench": summary.rack.bench.name,
        "decision": summary.decision.label,
        "reasons": list(summary.decision.reasons),
        "tested_at": tested.isoformat(timespec="seconds") if tested else None,
        "generated": summary.generated.isoformat(timespec="seconds"),
        "pytest_exit": summary.pytest_exit,
        # The auditor's switch (BENCH_SHOW_IDENTIFIERS=1) was on: values are raw.
        "identifiers_raw": show_raw(),
        "counts": counts(summary),
        "matrix": matrix(summary),
        "findings": finding_rows(summary),
        "inconclusive": inconclusive_rows(summary),
        "traffic": [bar.to_dict() for bar in bars],
        "charts": charts,
        "evidence": {"directory": "evidence", "files": evidence},
        "framework": framework,
    }


def _where(cycle: Cycle) -> dict[str, Any]:
    entry = cycle.data
    return {
        "phone": cycle.phone.slot,
        "device": cycle.phone.label,
        "model": cycle.phone.model,
        "cycle": cycle.column.kind,
        "index": cycle.column.index,
        "attempt": entry.get("attempt", 1) if entry else None,
    }
