"""Write ``reports/signoff/<build>/``: index.html, summary.json, charts/ and evidence/."""

from __future__ import annotations

import json
from pathlib import Path

from benches.inventory.models import Manifest, Rack
from benches.policy.decision import Decision
from benches.redaction.safe_files import make_directories, write_file
from benches.report.provenance import framework_version, git_commit
from benches.report.summary.charts.timeline import timeline_chart
from benches.report.summary.charts.traffic import traffic_bars, traffic_chart
from benches.report.summary.content import summary_json
from benches.report.summary.evidence import write_evidence
from benches.report.summary.html import render, timeline_key
from benches.report.summary.model import BuildSummary, load_summary

INDEX = "index.html"
JSON = "summary.json"
TRAFFIC_SVG = "charts/traffic.svg"


def summary_dir(reports: Path, build: str) -> Path:
    return reports / "signoff" / build


def write_summary(
    reports: Path, rack: Rack, manifest: Manifest, pytest_exit: int = 0
) -> tuple[Path, Decision]:
    """The build's summary from its verdict log; returns index.html's path and the decision."""
    summary = load_summary(reports, rack, manifest, pytest_exit)
    out = summary_dir(reports, manifest.build)
    make_directories(out / "charts", reports)  # a link planted in reports/ is refused
    bars = traffic_bars(summary.flows(), manifest.policy.allowed_countries)
    charts = {"traffic": traffic_chart(bars, build_chart_title(summary))}
    for cycle in summary.judged():
        key = timeline_key(cycle.phone.ref, cycle.column.kind, cycle.column.index)
        charts[key] = timeline_chart(cycle.data, f"{cycle.title}: flows against events")
    write_file(out / TRAFFIC_SVG, charts["traffic"], root=reports)
    framework = {"version": framework_version(), "commit": git_commit()}
    evidence = write_evidence(summary, out / "evidence", framework)
    data = summary_json(summary, bars, evidence, framework, {"traffic": TRAFFIC_SVG})
    # Each file is written whole and renamed into place: a reader never sees half of it.
    write_file(out / JSON, json.dumps(data, indent=2, ensure_ascii=False) + "\n", root=reports)
    index = out / INDEX
    write_file(index, render(summary, data, charts), root=reports)
    return index, summary.decision


def build_chart_title(summary: BuildSummary) -> str:
    return f"Where the traffic of build {summary.manifest.build} went: bytes by country and owner"
