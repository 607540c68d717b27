"""The one-page sign-off summary: the decision first, then the matrix, findings, pictures,
and the evidence pack. Static HTML with inline CSS and SVG: it opens from disk, mails
as one file, and runs no script."""

from __future__ import annotations

from html import escape
from typing import Any

from benches.analysis.interception.reading import tls_text
from benches.policy.decision import GO, NO_GO
from benches.policy.verdict import Outcome
from benches.redaction.masks import RAW_WARNING
from benches.redaction.printable import printable
from benches.report.summary.content import cell_text
from benches.report.summary.findings_html import findings_table
from benches.report.summary.model import MISSING, BuildSummary

STYLE = """
body{font:14px/1.45 'DejaVu Sans',Helvetica,Arial,sans-serif;color:#212121;margin:0 auto;
 max-width:1180px;padding:0 18px 40px}
header.decision{margin:18px 0;padding:18px 22px;border-radius:6px;color:#fff}
.go{background:#2e7d32}.no-go{background:#c62828}.inconclusive{background:#ef8f00}
.verdict{font-size:44px;font-weight:bold;letter-spacing:1px}
.meta{font-size:15px;margin-top:4px}.meta code{color:#fff;font-size:13px}
header ul{margin:8px 0 0;padding-left:20px}
h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;
 text-align:left;vertical-align:top}th{background:#f3f3f3}
td.pass{background:#e8f5e9;color:#1b5e20}td.fail{background:#ffebee;color:#b71c1c;font-weight:bold}
td.inconclusive{background:#fff3e0;color:#e65100;font-weight:bold}
td.missing{background:#eceff1;color:#37474f;font-style:italic;font-weight:bold}
td.none{background:#fff;color:#999}
tr.leak td:first-child{border-left:4px solid #c62828}
tr.policy td:first-child{border-left:4px solid #ef8f00}
code{font-size:12px}details{margin:6px 0}summary{cursor:pointer;font-weight:bold}
.small{font-size:12px;color:#555}footer{margin-top:30px;font-size:12px;color:#555}
"""


def render(summary: BuildSummary, data: dict[str, Any], charts: dict[str, str]) -> str:
    """``data`` is summary.json's content; ``charts`` the inline SVGs ('traffic', and
    'timeline:<device_ref>:<kind>:<index>' per judged cycle)."""
    decision = summary.decision
    manifest = summary.manifest
    css = {GO: "go", NO_GO: "no-go"}.get(decision.label, "inconclusive")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Sign-off {_e(manifest.build)}: {_e(decision.label)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<header class='decision {css}'><div class='verdict' id='decision'>"
        f"{_e(decision.label)}</div>",
        f"<div class='meta'>build <b>{_e(manifest.build)}</b> · bench {_e(data['bench'])} · "
        f"tested {_e(_when(summary))}</div>",
        f"<div class='meta'>fingerprint <code>{_e(manifest.fingerprint)}</code></div>",
    ]
    if data.get("identifiers_raw"):
        parts.append(f"<div class='meta' id='raw'><b>{_e(RAW_WARNING)}</b></div>")
    if decision.reasons:
        parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in decision.reasons) + "</ul>")
    parts.append("</header>")
    parts += _matrix(summary, data["counts"])
    parts.append("<h2>Where the traffic went</h2>")
    parts.append(charts.get("traffic", ""))
    parts += findings_table(data["findings"])
    parts += _not_proven(data["inconclusive"])
    parts += _timelines(summary, charts)
    parts += _evidence(data["evidence"]["files"])
    framework = data["framework"]
    parts.append(
        f"<footer>benches {_e(framework.get('version'))} · commit "
        f"<code>{_e(framework.get('commit'))}</code> · manifest {_e(manifest.path.name)} · "
        f"generated {_e(data['generated'])} · machine-readable: "
        "<a href='summary.json'>summary.json</a></footer></body></html>\n"
    )
    return "".join(parts)


def _matrix(summary: BuildSummary, counts: dict[str, int]) -> list[str]:
    head = "".join(f"<th>{_e(c.title)}</th>" for c in summary.columns)
    rows = []
    for phone in summary.phones:
        cells = []
        for column in summary.columns:
            cycle = summary.cell(phone, column)
            if cycle is None:
                cells.append("<td class='none'>not run</td>")
                continue
            found = len(cycle.data.get("findings") or ())
            note = f" ({found} findings)" if found else ""
            tls = tls_text(cycle.data.get("tls"))
            note += f"<br><span class='small'>{_e(tls)}</span>" if tls else ""
            reasons = "; ".join(cycle.data.get("reasons") or ())
            title = f" title='{_e(reasons)}'" if reasons else ""
            cells.append(
                f"<td class='{cycle.verdict}'{title}>{_e(cell_text(cycle.verdict))}{note}</td>"
            )
        rows.append(f"<tr><th>{_e(phone.title)}</th>{''.join(cells)}</tr>")
    tally = (
        f"{counts['expected']} cycles collected: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['inconclusive']} inconclusive, {counts['missing']} without a result"
    )
    out = [
        "<h2>Verdicts: phone × cycle</h2>",
        "<table class='matrix'>",
        f"<tr><th>phone</th>{head}</tr>",
        *rows,
        "</table>",
        f"<p class='small'>{_e(tally)}</p>",
    ]
    if summary.strays:
        out.append(
            f"<p class='small'>{len(summary.strays)} verdicts belong to no phone of this "
            "rack file; they count in the decision.</p>"
        )
    return out


def _not_proven(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    items = "".join(
        f"<li><b>phone {r['phone']} · {_e(r['device'])}, {_e(r['cycle'])} {r['index']}</b>: "
        f"{_e(cell_text(r['verdict']))}: {_e('; '.join(r['reasons']))}</li>"
        for r in rows
    )
    return ["<h2>Not proven clean</h2>", f"<ul>{items}</ul>"]


def _timelines(summary: BuildSummary, charts: dict[str, str]) -> list[str]:
    out = ["<h2>Cycle timelines</h2>"]
    for cycle in summary.judged():
        chart = charts.get(timeline_key(cycle.phone.ref, cycle.column.kind, cycle.column.index))
        if chart is None:
            continue
        opened = " open" if cycle.verdict in (Outcome.FAIL, Outcome.INCONCLUSIVE, MISSING) else ""
        out.append(
            f"<details{opened}><summary>{_e(cycle.title)} ({_e(cycle.phone.model)}): "
            f"{_e(cell_text(cycle.verdict))}</summary>{chart}</details>"
        )
    return out


def _evidence(files: dict[str, str]) -> list[str]:
    items = "".join(
        f"<li><a href='evidence/{_e(name)}'>{_e(name)}</a>: {_e(about)}</li>"
        for name, about in files.items()
    )
    return [
        "<h2>Evidence pack</h2>",
        f"<ul>{items}</ul>",
        "<p class='small'>The pcaps stay in reports/pcaps/&lt;build&gt;/ (owner-only, the only "
        "files with raw identifiers); the pack lists them by path and SHA-256.</p>",
    ]


def _when(summary: BuildSummary) -> str:
    tested = summary.tested_at
    return tested.strftime("%Y-%m-%d %H:%M UTC") if tested else "never (no cycle was judged)"


def timeline_key(ref: str, kind: str, index: int) -> str:
    return f"timeline:{ref}:{kind}:{index}"


def _e(value: object) -> str:
    return escape(printable(str(value)), quote=True)
