"""The sign-off's SVG charts: valid XML, text escaped, forbidden countries highlighted."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from benches.report.summary.charts.svg import RED
from benches.report.summary.charts.timeline import COLOURS, MAX_ROWS, timeline_chart
from benches.report.summary.charts.traffic import traffic_bars, traffic_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
EEA_AND_US = frozenset({"FI", "SE", "DE", "NO", "US"})  # no CN


def flow(country: str | None, owner: str | None, size: int, **more: Any) -> dict[str, Any]:
    return {"country": country, "owner": owner, "bytes": size, "countries": {}, **more}


FLOWS = [
    flow("FI", "Vendor Cloud Oy", 3000),
    flow("FI", "Other Hosting", 500),
    flow("CN", "Chinanet", 700),
    flow("LOCAL", "bench network", 400),
    flow("LOCAL", "bench network", 100),
    flow(None, None, 50),
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def bar_of(root: ET.Element, country: str) -> ET.Element:
    found = root.findall(f".//svg:g[@data-country='{country}']", NS)
    assert len(found) == 1, country
    return found[0]


def test_bars_sum_bytes_and_flows_by_country_and_owner() -> None:
    bars = traffic_bars(FLOWS, EEA_AND_US)

    assert [(b.country, b.status, b.bytes, b.flows) for b in bars] == [
        ("FI", "allowed", 3500, 2),
        ("CN", "forbidden", 700, 1),
        ("??", "unknown", 50, 1),
        ("LOCAL", "local", 500, 2),  # the bench's own traffic comes last
    ]
    assert [(s.owner, s.bytes) for s in bars[0].segments] == [
        ("Vendor Cloud Oy", 3000),
        ("Other Hosting", 500),
    ]


def test_the_cn_bar_is_highlighted_for_a_policy_without_cn() -> None:
    root = parse(traffic_chart(traffic_bars(FLOWS, EEA_AND_US), "where it went"))

    cn = bar_of(root, "CN")
    assert "forbidden" in cn.get("class", "").split()
    frames = cn.findall("svg:rect[@class='highlight']", NS)
    assert len(frames) == 1 and frames[0].get("stroke") == RED
    label = cn.find("svg:text", NS)
    assert label is not None and label.text == "CN" and label.get("fill") == RED
    assert any("not allowed" in (t.text or "") for t in cn.findall("svg:text", NS))

    fi = bar_of(root, "FI")
    assert "allowed" in fi.get("class", "").split()
    assert fi.findall("svg:rect[@class='highlight']", NS) == []


def test_a_policy_that_allows_cn_does_not_highlight_it() -> None:
    root = parse(traffic_chart(traffic_bars(FLOWS, EEA_AND_US | {"CN"}), "t"))
    assert bar_of(root, "CN").get("data-status") == "allowed"


def test_disagreeing_geo_signals_put_the_flow_under_the_stricter_country() -> None:
    split = flow("FI", "Vendor Cloud Oy", 10, countries={"geoip2fast": "FI", "iptocc": "CN"})
    bars = traffic_bars([split], EEA_AND_US)
    assert [(b.country, b.status) for b in bars] == [("CN", "forbidden")]


def test_text_in_the_charts_is_escaped() -> None:
    nasty = 'Evil & "Co" <script>alert(1)</script>'
    root = parse(traffic_chart(traffic_bars([flow("CN", nasty, 5)], EEA_AND_US), "a < b & c"))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert nasty in texts and "a < b & c" in texts
    assert root.find(".//script") is None and root.find(".//svg:script", NS) is None

    cycle = {
        "events": [{"name": "unlock", "at": 1.0}],
        "flows": [{"at": 2.0, "name": nasty, "dst_ip": "127.0.86.10", "country": "CN"}],
    }
    root = parse(timeline_chart(cycle, "<cycle>"))
    assert root.find("svg:title", NS).text == "<cycle>"  # type: ignore[union-attr]


def test_no_traffic_is_still_a_valid_chart() -> None:
    root = parse(traffic_chart([], "nothing"))
    assert any(
        "no traffic" in (t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text")
    )
    root = parse(timeline_chart({"events": [], "flows": []}, "nothing"))
    assert any("no flows" in (t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text"))


LEAKY_CYCLE = {
    "events": [
        {"name": "capture_started", "at": 0.0},
        {"name": "canary", "at": 0.1},
        {"name": "screen_off", "at": 0.5},
        {"name": "unlock", "at": 2.0},
        {"name": "capture_stopped", "at": 6.0},
    ],
    "flows": [
        {"at": 0.12, "name": "c1.canary.bench.invalid", "dst_ip": "127.0.53.53",
         "country": "LOCAL", "findings": []},
        {"at": 2.1, "name": "zfhmd.vnet.cn", "dst_ip": "127.0.86.10", "country": "CN",
         "findings": ["cleartext_identifier", "region_violation"]},
        {"at": 2.3, "name": "zfhmd.vnet.cn", "dst_ip": "127.0.86.10", "country": "CN",
         "findings": ["region_violation"]},
        {"at": 3.0, "name": "fota.vendor.example", "dst_ip": "127.0.44.10", "country": "FI",
         "findings": []},
        {"at": 3.5, "name": None, "dst_ip": "192.0.2.7", "country": None, "findings": []},
    ],
}  # fmt: skip


def test_the_timeline_draws_events_as_lines_and_flows_as_marks_by_relevance() -> None:
    root = parse(timeline_chart(LEAKY_CYCLE, "unlock cycle 1 of SI…1"))

    events = {g.get("data-event"): g for g in root.findall(".//svg:g[@class='event']", NS)}
    assert set(events) == {"canary", "screen_off", "unlock", "capture_stopped"}
    labels = [t.text for t in events["unlock"].findall("svg:text", NS)]
    assert labels == ["unlock 2.0 s"]
    assert events["canary"].findall("svg:text", NS) == []  # bookkeeping: a line, no label

    rows = {
        (g.find("svg:text", NS).text, g.get("data-relevance"))  # type: ignore[union-attr]
        for g in root.findall(".//svg:g[@data-relevance]", NS)
    }
    assert rows == {
        ("c1.canary.bench.invalid · bench", "bench"),
        ("zfhmd.vnet.cn · CN", "leak"),  # the worst of its flows
        ("fota.vendor.example · FI", "allowed"),
        ("192.0.2.7 · ??", "unknown"),
    }
    leak = root.find(".//svg:g[@data-relevance='leak']", NS)
    assert leak is not None
    marks = leak.findall("svg:circle", NS)
    assert len(marks) == 2 and {m.get("fill") for m in marks} == {COLOURS["leak"]}
    # The leak is drawn after the unlock line, as it happened.
    unlock_x = float(events["unlock"].find("svg:line", NS).get("x1"))  # type: ignore[union-attr, arg-type]
    assert all(float(m.get("cx")) > unlock_x for m in marks)  # type: ignore[arg-type]


def test_a_busy_cycle_shows_its_first_destinations_and_says_how_many_more() -> None:
    flows = [
        {"at": float(n), "name": f"host{n}.example", "dst_ip": "127.0.44.1", "country": "FI"}
        for n in range(MAX_ROWS + 5)
    ]
    root = parse(timeline_chart({"events": [], "flows": flows}, "busy"))
    assert len(root.findall(".//svg:g[@data-relevance]", NS)) == MAX_ROWS
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "+ 5 more destinations (see the flows attachment)" in texts
