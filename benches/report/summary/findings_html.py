"""The findings table of the summary page: one row per cycle, destination and sort of
finding, naming every finding in it. summary.json keeps each finding on its own; a
reader of the page wants "phone 1's boot sent IMEI, ICCID, serial and location to
zfhmd.vnet.cn in CN", once, not four times."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from benches.analysis.attribution.embedded import describe
from benches.policy.findings import (
    CLEARTEXT_IDENTIFIER,
    HOST_VIOLATION,
    IDENTIFIER_LEAK,
    LEAK_KINDS,
    PLAIN_FORMS,
    REGION_VIOLATION,
)
from benches.redaction.masks import identifier_label
from benches.redaction.printable import printable

KIND_TEXT = {
    CLEARTEXT_IDENTIFIER: "in cleartext",
    IDENTIFIER_LEAK: "to a non-recipient",
    REGION_VIOLATION: "country not allowed",
    HOST_VIOLATION: "host not allowed",
}
HEAD = ("phone", "cycle", "finding", "destination", "when", "evidence")


def findings_table(findings: list[dict[str, Any]]) -> list[str]:
    if not findings:
        return ["<h2>Findings</h2><p>None.</p>"]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(_key(finding), []).append(finding)
    ordered = sorted(groups.values(), key=lambda group: group[0]["kind"] not in LEAK_KINDS)
    header = "".join(f"<th>{h}</th>" for h in HEAD)
    rows = [_row(group) for group in ordered]
    count = f"{len(findings)} in {len(rows)} {'place' if len(rows) == 1 else 'places'}"
    return [
        f"<h2>Findings ({count})</h2>",
        "<table class='findings'>",
        f"<tr>{header}</tr>",
        *rows,
        "</table>",
    ]


def _key(f: dict[str, Any]) -> tuple[Any, ...]:
    where = (f.get("dst_host"), f.get("dst_ip"), f.get("dst_port"), f.get("country"))
    return (f["phone"], f["cycle"], f["index"], *where, f["kind"] in LEAK_KINDS)


def _row(group: list[dict[str, Any]]) -> str:
    first = group[0]
    leak = first["kind"] in LEAK_KINDS
    via = ""
    if first.get("dst_embedding"):
        via = f", {describe(first['dst_embedding'], first.get('dst_embedded_ipv4'))}"
    where = (
        f"{first.get('dst_host') or '(no name)'} ({first['dst_ip']}:{first['dst_port']}{via}, "
        f"{first.get('country') or 'unknown country'}, {first.get('owner') or 'unknown owner'})"
    )
    packets = _unique(group, lambda f: str(f["packet"]))
    snippets = _unique(group, lambda f: str(f.get("evidence") or ""))[:1] if leak else []
    evidence = f"{_e(first['pcap'])}, {'packet' if len(packets) == 1 else 'packets'} " + _e(
        ", ".join(packets)
    )
    evidence += "".join(f"<br><code title='{_e(s)}'>{_e(_clip(s))}</code>" for s in snippets if s)
    cells = (
        _e(f"phone {first['phone']} · {first['device']}"),
        _e(f"{first['cycle']} {first['index']}"),
        f"<b>{_e(_what(group))}</b>",
        _e(where),
        _e("; ".join(_unique(group, lambda f: str(f.get("when") or "")))),
        evidence,
    )
    css = "leak" if leak else "policy"
    return f"<tr class='{css}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _what(group: list[dict[str, Any]]) -> str:
    """'IMEI 3520…452, ICCID 8935…111 in cleartext' or 'country not allowed; host not allowed'."""
    parts = []
    for kind in dict.fromkeys(f["kind"] for f in group):
        same = [f for f in group if f["kind"] == kind]
        if kind in LEAK_KINDS:
            values = ", ".join(dict.fromkeys(_identifier(f) for f in same))
            parts.append(f"{values} {KIND_TEXT[kind]}")
        else:
            parts.append(KIND_TEXT.get(kind, kind))
    return "; ".join(parts)


def _identifier(f: dict[str, Any]) -> str:
    plain = f.get("encoding") == "plain" and f.get("form") in PLAIN_FORMS
    written = "" if plain or not f.get("form") else f" ({f['form']}, {f['encoding']})"
    return f"{identifier_label(f.get('identifier') or '')} {f.get('value')}{written}"


def _unique(group: list[dict[str, Any]], value: Callable[[dict[str, Any]], str]) -> list[str]:
    return [v for v in dict.fromkeys(value(f) for f in group) if v]


def _clip(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(value: object) -> str:
    return escape(printable(str(value)), quote=True)
