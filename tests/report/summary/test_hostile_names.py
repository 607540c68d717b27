"""A hostile .mmdb owner name in the sign-off summary: escaped in the page and the charts,
raw in summary.json (whose JSON escapes it)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from scapy.utils import wrpcap

from benches.analysis.attribution.geo import GeoDatabase
from benches.cycles import CycleRecord, Event
from benches.policy.judge import judge_cycle
from benches.report.summary.writer import summary_dir, write_summary
from benches.report.verdict_log import append_verdict, verdict_log_path
from tests.report.summary.test_summary import BOOT, BUILD, MANIFEST, RACK, plan
from tests.support.hostile_names import EVIL_OWNER, EVIL_OWNER_SHOWN, evil_mmdb, to_evil_owner
from tests.support.pcaps import START, stamp


def test_a_hostile_owner_is_escaped_in_the_page_and_charts_and_raw_in_the_json(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    geo = GeoDatabase.for_rack(RACK, mmdb=evil_mmdb(tmp_path / "city.mmdb"))
    plan(reports, ("boot",))
    pcap = reports / "pcaps" / BUILD / "SIM7P0001-boot-1.pcap"
    pcap.parent.mkdir(parents=True)
    wrpcap(str(pcap), stamp(to_evil_owner(), start=START + 2.0))
    record = CycleRecord("SIM7P0001", "boot", 1, pcap)
    record.timeline = [Event(name, at, START + at) for name, at in BOOT]
    result = judge_cycle(record, RACK, MANIFEST, geo)
    assert EVIL_OWNER_SHOWN in result.summary() and "\x1b" not in result.summary()
    append_verdict(verdict_log_path(reports, BUILD), result)
    write_summary(reports, RACK, MANIFEST)
    out = summary_dir(reports, BUILD)
    page = (out / "index.html").read_text()
    assert "\x1b" not in page and EVIL_OWNER not in page
    assert EVIL_OWNER_SHOWN in page
    for chart in (out / "charts").glob("*.svg"):
        ET.fromstring(chart.read_text())  # a raw ESC is not even valid XML
    text = (out / "summary.json").read_text()
    assert "\x1b" not in text  # json.dumps writes it as \u001b
    data = json.loads(text)
    assert {f["owner"] for f in data["findings"]} == {EVIL_OWNER}
    assert all(EVIL_OWNER_SHOWN in f["message"] for f in data["findings"])
    owners = {o["owner"] for bar in data["traffic"] for o in bar["owners"]}
    assert EVIL_OWNER in owners
