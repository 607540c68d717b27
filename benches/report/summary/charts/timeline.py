"""One cycle's timeline: the phone's events as vertical lines, its flows as marks.

x is seconds since the capture window opened. Each destination (name, or
address without one, and its country) is a row; each flow to it is a mark at
its first packet. Marks are coloured by what the verdict made of them: a leak,
a policy violation, an unknown country, the bench's own network, or allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benches.analysis.attribution.geo import LOCAL
from benches.cycles.timeline import BOOKKEEPING_EVENTS
from benches.policy.findings import LEAK_KINDS
from benches.report.summary.charts.svg import AMBER, GREEN, GREY, INK, RED, Svg

# Worst first: a row takes the colour of its worst flow.
RELEVANCE = ("leak", "violation", "unknown", "allowed", "bench")
COLOURS = {"leak": RED, "violation": AMBER, "unknown": "#7b1fa2", "allowed": GREEN, "bench": GREY}
LEGEND = {
    "leak": "identifier leak",
    "violation": "region or host violation",
    "unknown": "unknown country",
    "allowed": "allowed",
    "bench": "bench network",
}
MAX_ROWS = 40
WIDTH, LEFT, RIGHT, ROW = 900, 290, 20, 20
TIERS = 3  # event labels are staggered over this many lines so close events stay legible


def relevance(flow: Mapping[str, Any]) -> str:
    kinds = set(flow.get("findings") or ())
    if kinds & LEAK_KINDS:
        return "leak"
    if kinds:
        return "violation"
    if flow.get("country") == LOCAL:
        return "bench"
    if flow.get("country") is None:
        return "unknown"
    return "allowed"


@dataclass
class Row:
    label: str
    times: list[float] = field(default_factory=list)
    worst: str = "bench"


def destination_rows(flows: Sequence[Mapping[str, Any]]) -> list[Row]:
    rows: dict[str, Row] = {}
    for flow in sorted(flows, key=lambda f: float(f.get("at") or 0.0)):
        where = flow.get("name") or flow.get("dst_ip") or "?"
        label = f"{where} · {flow.get('country') or '??'}"
        if flow.get("country") == LOCAL:
            label = f"{where} · bench"
        row = rows.setdefault(label, Row(label))
        row.times.append(float(flow.get("at") or 0.0))
        mine = relevance(flow)
        if RELEVANCE.index(mine) < RELEVANCE.index(row.worst):
            row.worst = mine
    return list(rows.values())


def timeline_chart(cycle: Mapping[str, Any], title: str) -> str:
    """``cycle`` holds ``events`` [{name, at}] and ``flows`` [{at, name, dst_ip, country,
    findings}], as the verdict log keeps them."""
    events = [e for e in cycle.get("events") or () if e.get("name") not in ("capture_started",)]
    rows = destination_rows(cycle.get("flows") or ())
    shown, hidden = rows[:MAX_ROWS], rows[MAX_ROWS:]
    times = [float(e["at"]) for e in events] + [t for r in rows for t in r.times]
    low, high = min([0.0, *times]), max([1.0, *times])
    span = (high - low) or 1.0
    head = 28 + TIERS * 14
    plot_top, plot_bottom = head + 6, head + 6 + max(1, len(shown)) * ROW
    height = plot_bottom + 34 + 22 + (16 if hidden else 0)
    svg = Svg(WIDTH, height, title)

    def x_of(at: float) -> float:
        return LEFT + (at - low) / span * (WIDTH - LEFT - RIGHT)

    svg.add("text", title, x=10, y=18, font_size=14, font_weight="bold", fill=INK)
    svg.add(
        "rect",
        x=LEFT,
        y=plot_top,
        width=WIDTH - LEFT - RIGHT,
        height=plot_bottom - plot_top,
        fill="#fafafa",
        stroke="#e0e0e0",
    )
    tier = 0
    for event in events:
        name, x = str(event.get("name")), x_of(float(event["at"]))
        bookkeeping = name in BOOKKEEPING_EVENTS
        svg.open("g", class_="event", data_event=name)
        svg.add(
            "line",
            x1=f"{x:.1f}",
            x2=f"{x:.1f}",
            y1=plot_top - (0 if bookkeeping else 4),
            y2=plot_bottom,
            stroke=GREY if bookkeeping else INK,
            stroke_dasharray="2,3" if bookkeeping else "5,3",
            stroke_width=1,
        )
        if not bookkeeping:
            label_y = 30 + tier * 14
            svg.add(
                "text",
                f"{name} {float(event['at']):.1f} s",
                x=f"{x:.1f}",
                y=label_y,
                text_anchor="middle" if LEFT + 60 < x < WIDTH - 80 else "end",
                fill=INK,
            )
            tier = (tier + 1) % TIERS
        svg.close("g")
    for index, row in enumerate(shown):
        y = plot_top + index * ROW + ROW / 2
        colour = COLOURS[row.worst]
        svg.open("g", class_=f"destination {row.worst}", data_relevance=row.worst)
        svg.add(
            "text",
            _clip(row.label),
            x=LEFT - 8,
            y=f"{y + 4:.1f}",
            text_anchor="end",
            fill=colour if row.worst != "allowed" else INK,
        )
        for at in row.times:
            svg.open("circle", cx=f"{x_of(at):.1f}", cy=f"{y:.1f}", r=5, fill=colour)
            svg.add("title", f"{row.label}: first packet {at:.2f} s")
            svg.close("circle")
        svg.close("g")
    if not shown:
        svg.add("text", "no flows in this capture", x=LEFT + 10, y=plot_top + 14, fill=GREY)
    _axis(svg, low, high, x_of, plot_bottom)
    legend_y = plot_bottom + 40
    for i, key in enumerate(RELEVANCE):
        x = 10 + i * 165
        svg.add("circle", cx=x + 5, cy=legend_y - 4, r=5, fill=COLOURS[key])
        svg.add("text", LEGEND[key], x=x + 14, y=legend_y, fill=INK, font_size=11)
    if hidden:
        svg.add(
            "text",
            f"+ {len(hidden)} more destinations (see the flows attachment)",
            x=10,
            y=legend_y + 16,
            fill=GREY,
        )
    return svg.render()


def _axis(svg: Svg, low: float, high: float, x_of: Any, y: float) -> None:
    step = _step(high - low)
    tick = (int(low / step) - (1 if low < 0 else 0)) * step
    while tick <= high + 1e-9:
        if tick >= low - 1e-9:
            x = x_of(tick)
            svg.add("line", x1=f"{x:.1f}", x2=f"{x:.1f}", y1=y, y2=y + 4, stroke=INK)
            svg.add(
                "text",
                f"{tick:g}",
                x=f"{x:.1f}",
                y=y + 16,
                text_anchor="middle",
                fill=INK,
                font_size=11,
            )
        tick = round(tick + step, 6)
    svg.add(
        "text",
        "seconds since the capture started",
        x=WIDTH - RIGHT,
        y=y + 28,
        text_anchor="end",
        fill=GREY,
        font_size=11,
    )


def _step(span: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if span / step <= 12:
            return step
    return 1800.0


def _clip(label: str, limit: int = 44) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
