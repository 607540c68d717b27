"""Where a build's traffic went: one horizontal bar per country, split by owner.

Bars measure payload-carrying bytes on the wire (every packet of every flow,
as the analyzer counts them); each bar says how many flows it holds. A
country the policy does not allow is drawn with a red frame and a red label,
an unknown country in amber (it makes a cycle inconclusive), the bench's own
network in grey.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from benches.analysis.attribution.geo import LOCAL, Place, ruling_country
from benches.report.summary.charts.svg import AMBER, GREY, INK, OWNER_PALETTE, RED, Svg, fmt_bytes

ALLOWED, FORBIDDEN, UNKNOWN, BENCH = "allowed", "forbidden", "unknown", "local"
UNKNOWN_COUNTRY = "??"
_FRAME = {FORBIDDEN: RED, UNKNOWN: AMBER}
_NOTE = {FORBIDDEN: "not allowed", UNKNOWN: "unknown country", BENCH: "bench network"}


@dataclass(frozen=True)
class Segment:
    owner: str
    bytes: int
    flows: int


@dataclass(frozen=True)
class Bar:
    country: str  # ISO alpha-2, "LOCAL" or "??"
    status: str  # allowed, forbidden, unknown or local
    segments: tuple[Segment, ...]

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.segments)

    @property
    def flows(self) -> int:
        return sum(s.flows for s in self.segments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "status": self.status,
            "bytes": self.bytes,
            "flows": self.flows,
            "owners": [s.__dict__ for s in self.segments],
        }


def flow_country(flow: Mapping[str, Any], allowed: Collection[str]) -> str | None:
    """The country the policy judges a flow by (the stricter signal when they disagree)."""
    place = Place(flow.get("country"), flow.get("owner"), "", dict(flow.get("countries") or {}))
    return ruling_country(place, allowed)


def country_status(country: str | None, allowed: Collection[str]) -> str:
    if country == LOCAL:
        return BENCH
    if country is None:
        return UNKNOWN
    return ALLOWED if country in allowed else FORBIDDEN


def traffic_bars(flows: Iterable[Mapping[str, Any]], allowed: Collection[str]) -> list[Bar]:
    """Flows (as the verdict log keeps them) summed by country and owner, biggest first."""
    totals: dict[str | None, dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for flow in flows:
        country = flow_country(flow, allowed)
        owner = flow.get("owner") or "unknown owner"
        cell = totals[country][owner]
        cell[0] += int(flow.get("bytes") or 0)
        cell[1] += 1
    bars = []
    for country, owners in totals.items():
        segments = sorted(
            (Segment(owner, b, n) for owner, (b, n) in owners.items()),
            key=lambda s: (-s.bytes, s.owner),
        )
        bars.append(
            Bar(country or UNKNOWN_COUNTRY, country_status(country, allowed), tuple(segments))
        )
    # The bench's own traffic last: it is there to account for every byte, not to be read first.
    return sorted(bars, key=lambda b: (b.status == BENCH, -b.bytes, b.country))


LEFT, RIGHT, TOP, ROW, BAR = 150, 260, 34, 30, 18
WIDTH = 900


def traffic_chart(bars: list[Bar], title: str) -> str:
    """Horizontal bars of bytes per country, one colour per owner, forbidden ones framed red."""
    # The bench's own network is grey, whoever owns it: the legend is for the rest.
    owners = list(dict.fromkeys(s.owner for b in bars if b.status != BENCH for s in b.segments))
    colour = {owner: OWNER_PALETTE[i % len(OWNER_PALETTE)] for i, owner in enumerate(owners)}
    legend_rows = (len(owners) + 2) // 3
    height = TOP + max(1, len(bars)) * ROW + 24 + legend_rows * 18 + 10
    svg = Svg(WIDTH, height, title)
    svg.add("text", title, x=10, y=20, font_size=14, font_weight="bold", fill=INK)
    if not bars:
        svg.add("text", "no traffic was captured", x=LEFT, y=TOP + 14, fill=GREY)
    scale = (WIDTH - LEFT - RIGHT) / max((b.bytes for b in bars), default=1) if bars else 0
    for row, bar in enumerate(bars):
        y = TOP + row * ROW
        highlight = _FRAME.get(bar.status)
        svg.open(
            "g",
            class_=f"bar {bar.status}",
            data_country=bar.country,
            data_status=bar.status,
            data_bytes=bar.bytes,
        )
        label = "bench network" if bar.status == BENCH else bar.country
        svg.add(
            "text",
            label,
            x=LEFT - 8,
            y=y + BAR - 5,
            text_anchor="end",
            fill=highlight or INK,
            font_weight="bold" if highlight else None,
        )
        x = float(LEFT)
        for segment in bar.segments:
            width = max(1.0, segment.bytes * scale)
            fill = colour.get(segment.owner, GREY) if bar.status != BENCH else GREY
            svg.open("rect", x=f"{x:.1f}", y=y, width=f"{width:.1f}", height=BAR, fill=fill)
            svg.add(
                "title",
                f"{bar.country} · {segment.owner}: {fmt_bytes(segment.bytes)}, "
                f"{segment.flows} flows",
            )
            svg.close("rect")
            x += width
        if highlight:
            svg.add(
                "rect",
                class_="highlight",
                x=LEFT - 2,
                y=y - 2,
                width=f"{x - LEFT + 4:.1f}",
                height=BAR + 4,
                fill="none",
                stroke=highlight,
                stroke_width=2.5,
            )
        note = f"{fmt_bytes(bar.bytes)} · {bar.flows} {'flow' if bar.flows == 1 else 'flows'}"
        if bar.status in (FORBIDDEN, UNKNOWN):
            note += f" · {_NOTE[bar.status]}"
        svg.add("text", note, x=f"{x + 8:.1f}", y=y + BAR - 5, fill=highlight or INK)
        svg.close("g")
    _legend(svg, owners, colour, TOP + max(1, len(bars)) * ROW + 14)
    return svg.render()


def _legend(svg: Svg, owners: list[str], colour: dict[str, str], top: int) -> None:
    for i, owner in enumerate(owners):
        x, y = LEFT + (i % 3) * 240, top + (i // 3) * 18
        svg.add("rect", x=x, y=y, width=12, height=12, fill=colour[owner])
        svg.add("text", owner, x=x + 18, y=y + 10, fill=INK)
