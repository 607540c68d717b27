"""The merged sign-off page of one build: the decision, each bench's word on it, and the
bench x phone x cycle matrix. Static HTML like the benches' own pages; no script."""

from __future__ import annotations

from html import escape
from typing import Any

from benches.policy.decision import GO, NO_GO
from benches.redaction.masks import RAW_WARNING
from benches.redaction.printable import printable
from benches.report.merge.model import NOT_RUN
from benches.report.summary.html import STYLE

EXTRA_STYLE = "td.notrun{background:#eceff1;color:#37474f;font-style:italic;font-weight:bold}"


def render_build(data: dict[str, Any]) -> str:
    """``data`` is the merged summary.json of the build."""
    label = str(data["decision"])
    css = {GO: "go", NO_GO: "no-go"}.get(label, "inconclusive")
    names = ", ".join(str(b["bench"]) for b in data["benches"])
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Sign-off {_e(data['build'])} on every bench: {_e(label)}</title>",
        f"<style>{STYLE}{EXTRA_STYLE}</style></head><body>",
        f"<header class='decision {css}'><div class='verdict' id='decision'>{_e(label)}</div>",
        f"<div class='meta'>build <b>{_e(data['build'])}</b> · benches {_e(names)}</div>",
    ]
    if data.get("identifiers_raw"):
        parts.append(f"<div class='meta' id='raw'><b>{_e(RAW_WARNING)}</b></div>")
    if data["reasons"]:
        parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in data["reasons"]) + "</ul>")
    parts.append("</header>")
    parts += _benches(data["benches"])
    parts += _matrix(data["matrix"])
    parts.append(
        f"<footer>Merged {_e(data['generated'])}. Each bench's own page and evidence pack "
        "are under benches/&lt;bench&gt;/signoff/; its pcaps under benches/&lt;bench&gt;/pcaps/ "
        "(check them with <code>sha256sum -c signoff/&lt;build&gt;/evidence/SHA256SUMS</code> "
        "run in benches/&lt;bench&gt;/).</footer></body></html>\n"
    )
    return "".join(parts)


def render_index(builds: list[dict[str, Any]]) -> str:
    """The merged directory's front page: every build's answer, then each bench's word;
    ``builds`` are the builds' merged summary.json contents."""
    names = [str(b["bench"]) for b in builds[0]["benches"]] if builds else []
    head = "".join(f"<th>{_e(name)}</th>" for name in names)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Sign-off on every bench</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>",
        "<h2>Sign-off on every bench: GO only when every bench ran the build and said GO</h2>",
        f"<table id='builds'><tr><th>build</th><th>decision</th>{head}</tr>",
    ]
    for data in builds:
        build, label = _e(data["build"]), str(data["decision"])
        css = {GO: "pass", NO_GO: "fail"}.get(label, "inconclusive")
        cells = "".join(_bench_cell(str(b["decision"])) for b in data["benches"])
        parts.append(
            f"<tr><td><a href='signoff/{build}/index.html'>{build}</a></td>"
            f"<td class='{css}'>{_e(label)}</td>{cells}</tr>"
        )
    parts.append("</table><footer>The Allure report: allure-report/index.html</footer>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _bench_cell(decision: str) -> str:
    css = {GO: "pass", NO_GO: "fail", NOT_RUN: "notrun"}.get(decision, "inconclusive")
    return f"<td class='{css}'>{_e(decision)}</td>"


def _benches(benches: list[dict[str, Any]]) -> list[str]:
    parts = [
        "<h2>Benches</h2><table id='benches'><tr><th>bench</th><th>decision</th>"
        "<th>cycles</th><th>tested</th><th>summary</th></tr>"
    ]
    for bench in benches:
        decision = str(bench["decision"])
        if decision == NOT_RUN:
            parts.append(
                f"<tr><td>{_e(bench['bench'])}</td><td class='notrun'>{NOT_RUN}</td>"
                "<td></td><td></td><td></td></tr>"
            )
            continue
        counts = bench["counts"]
        shown = (
            f"{counts['pass']} pass, {counts['fail']} fail, {counts['inconclusive']} "
            f"inconclusive, {counts['missing']} missing of {counts['expected']}"
        )
        css = {GO: "pass", NO_GO: "fail"}.get(decision, "inconclusive")
        link = _e(bench["summary"])
        parts.append(
            f"<tr><td>{_e(bench['bench'])}</td><td class='{css}'>{_e(decision)}</td>"
            f"<td>{_e(shown)}</td><td>{_e(bench.get('tested_at') or '')}</td>"
            f"<td><a href='../../{link}'>{link}</a></td></tr>"
        )
    parts.append("</table>")
    return parts


def _matrix(matrix: dict[str, Any]) -> list[str]:
    columns = matrix["columns"]
    head = "".join(f"<th>{_e(c['cycle'])} {_e(c['index'])}</th>" for c in columns)
    parts = [
        "<h2>Bench × phone × cycle</h2><table id='matrix'>",
        f"<tr><th>bench</th><th>phone</th>{head}</tr>",
    ]
    width = max(1, len(columns))
    for row in matrix["rows"]:
        if row["decision"] == NOT_RUN:
            parts.append(
                f"<tr><td>{_e(row['bench'])}</td><td></td>"
                f"<td class='notrun' colspan='{width}'>{NOT_RUN}</td></tr>"
            )
            continue
        for phone in row["phones"]:
            title = f"phone {phone['phone']} · {phone['device']} · {phone['model']}"
            cells = "".join(_cell(cell) for cell in phone["cells"])
            parts.append(f"<tr><td>{_e(row['bench'])}</td><td>{_e(title)}</td>{cells}</tr>")
    parts.append("</table>")
    return parts


def _cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "<td class='none'>—</td>"
    verdict = str(cell.get("verdict"))
    css = verdict if verdict in ("pass", "fail", "inconclusive") else "missing"
    return f"<td class='{css}'>{_e(cell.get('text') or verdict)}</td>"


def _e(value: object) -> str:
    return escape(printable(str(value)), quote=True)
