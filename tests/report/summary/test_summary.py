"""The sign-off summary from a crafted run: real captures, really judged and logged.

Phone 1's boot leaks (the 2019 POST), its unlock is clean; phone 2's boot is
clean and its unlock was collected but never judged (a bench fault).
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from scapy.utils import wrpcap

from benches.analysis.attribution.geo import GeoDatabase
from benches.capture.health import CaptureHealth
from benches.cycles import CycleRecord, Event
from benches.inventory.models import Manifest
from benches.policy.judge import judge_cycle
from benches.report.cycle_entry import device_ref
from benches.report.summary.identities import identity_hash
from benches.report.summary.plan import Planned, write_plan
from benches.report.summary.writer import summary_dir, write_summary
from benches.report.verdict_log import append_verdict, verdict_log_path, write_expected_count
from tests.support.pcaps import (
    ICCID,
    IMEI,
    IMSI,
    OTHER_IMEI,
    START,
    clean_boot,
    leaky_boot,
    make_policy,
    make_rack,
    stamp,
)

# The module-scoped fixtures are costly: its tests share one worker, so they are built once.
pytestmark = pytest.mark.xdist_group("tests/report/summary/test_summary.py")

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
BUILD = "B1"
MANIFEST = Manifest(Path("m.yaml"), BUILD, "Nokia/fp:10/B1", "global", make_policy())
PHONES = ("SIM7P0001", "SIM7P0002")
BOOT = [("capture_started", 0.0), ("power_button", 0.5), ("boot_completed", 1.5)]
UNLOCK = [("capture_started", 0.0), ("screen_off", 0.2), ("unlock", 1.0)]


def judge_and_log(
    reports: Path, serial: str, kind: str, packets: list[Any], events: list[tuple[str, float]],
    health: CaptureHealth | None = None,
) -> None:  # fmt: skip
    pcap = reports / "pcaps" / BUILD / f"{serial}-{kind}-1.pcap"
    pcap.parent.mkdir(parents=True, exist_ok=True)
    wrpcap(str(pcap), stamp(packets, start=START + 2.0))
    record = CycleRecord(serial, kind, 1, pcap, health=health)
    record.timeline = [Event(name, at, START + at) for name, at in events]
    append_verdict(verdict_log_path(reports, BUILD), judge_cycle(record, RACK, MANIFEST, GEO))


def plan(reports: Path, kinds: tuple[str, ...] = ("boot", "unlock")) -> None:
    cells = [Planned(device_ref(s), k, 1) for s in PHONES for k in kinds]
    write_plan(reports, BUILD, cells)
    write_expected_count(reports, BUILD, len(cells))


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reports = tmp_path_factory.mktemp("run") / "reports"
    plan(reports)
    judge_and_log(reports, "SIM7P0001", "boot", leaky_boot(), BOOT)
    judge_and_log(reports, "SIM7P0001", "unlock", clean_boot(), UNLOCK)
    judge_and_log(reports, "SIM7P0002", "boot", clean_boot("127.0.2.2"), BOOT)
    write_summary(reports, RACK, MANIFEST)
    return reports


def summary_of(reports: Path) -> dict[str, Any]:
    return json.loads((summary_dir(reports, BUILD) / "summary.json").read_text())


def evidence(reports: Path, name: str) -> Any:
    return json.loads((summary_dir(reports, BUILD) / "evidence" / name).read_text())


def test_a_leak_and_a_missing_verdict_make_no_go(leaky_run: Path) -> None:
    data = summary_of(leaky_run)
    assert (data["build"], data["decision"]) == (BUILD, "NO-GO")
    assert data["reasons"] == [
        "1 cycle leaked or broke the policy",
        "1 of 4 collected cycles has no verdict (bench fault)",
    ]
    assert data["counts"] == {
        "expected": 4, "judged": 3, "pass": 2, "fail": 1, "inconclusive": 0, "missing": 1,
    }  # fmt: skip


def test_the_matrix_has_a_masked_row_per_phone_and_shows_the_hole(leaky_run: Path) -> None:
    matrix = summary_of(leaky_run)["matrix"]
    assert matrix["columns"] == [{"cycle": "boot", "index": 1}, {"cycle": "unlock", "index": 1}]
    rows = [(r["phone"], r["device"], r["model"]) for r in matrix["rows"]]
    assert rows == [(1, "SI…1", "TA-1046"), (2, "SI…2", "TA-1046")]
    verdicts = [[c["text"] for c in r["cells"]] for r in matrix["rows"]]
    assert verdicts == [["FAIL", "pass"], ["pass", "no result (bench fault)"]]
    assert matrix["rows"][0]["cells"][0]["findings"] == 6
    hole = summary_of(leaky_run)["inconclusive"]
    assert [(h["phone"], h["cycle"], h["verdict"]) for h in hole] == [(2, "unlock", "missing")]


def test_findings_are_masked_placed_and_point_at_their_packet(leaky_run: Path) -> None:
    findings = summary_of(leaky_run)["findings"]
    imei = next(f for f in findings if f["identifier"] == "imei")
    assert imei["value"] == "3520…452" and imei["device"] == "SI…1"
    assert imei["dst_host"] == "zfhmd.vnet.cn" and imei["country"] == "CN"
    assert imei["pcap"] == "SIM7P0001-boot-1.pcap" and imei["packet"] > 0
    assert imei["when"] == "0.5 s after boot completed"
    assert {f["kind"] for f in findings} == {
        "cleartext_identifier", "region_violation", "host_violation",
    }  # fmt: skip


def test_the_traffic_is_summed_by_country_with_cn_forbidden(leaky_run: Path) -> None:
    traffic = {t["country"]: t for t in summary_of(leaky_run)["traffic"]}
    assert traffic["CN"]["status"] == "forbidden"
    assert traffic["CN"]["owners"][0]["owner"] == "Chinanet"
    assert traffic["FI"]["status"] == "allowed" and traffic["FI"]["flows"] == 2
    chart = summary_dir(leaky_run, BUILD) / "charts" / "traffic.svg"
    cn = ET.parse(chart).getroot().find(".//{*}g[@data-country='CN']")
    assert cn is not None and "forbidden" in cn.get("class", "")


def test_the_page_says_no_go_and_inlines_valid_charts(leaky_run: Path) -> None:
    page = (summary_dir(leaky_run, BUILD) / "index.html").read_text()
    assert "<div class='verdict' id='decision'>NO-GO</div>" in page
    assert "no result (bench fault)" in page
    # One row per cycle, destination and sort of finding, naming every finding in it.
    assert "IMEI 3520…452, ICCID 8935…111, serial SI…1, location 60…9,24…4 in cleartext" in page
    assert "country not allowed; host not allowed" in page
    assert "Findings (6 in 2 places)" in page
    assert "0.5 s after boot completed" in page
    charts = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(charts) == 1 + 3  # where the traffic went + one timeline per judged cycle
    for chart in charts:
        ET.fromstring(chart)
    assert "<script" not in page


def test_the_evidence_pack_lists_the_pcaps_with_their_sha256(leaky_run: Path) -> None:
    pcaps = evidence(leaky_run, "pcaps.json")["pcaps"]
    assert len(pcaps) == 3
    for item in pcaps:
        digest = hashlib.sha256((leaky_run / item["path"]).read_bytes()).hexdigest()
        assert item["sha256"] == item["judged_sha256"] == digest
        assert item["unchanged_since_judged"] is True
    sums = (summary_dir(leaky_run, BUILD) / "evidence" / "SHA256SUMS").read_text().splitlines()
    assert sorted(sums) == sorted(f"{p['sha256']}  {p['path']}" for p in pcaps)
    assert all(p["path"].startswith(f"pcaps/{BUILD}/") for p in pcaps)


def test_a_pcap_changed_after_judging_is_flagged(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    plan(reports, kinds=("boot",))
    judge_and_log(reports, "SIM7P0001", "boot", clean_boot(), BOOT, CaptureHealth(9, 2, False))
    with (reports / "pcaps" / BUILD / "SIM7P0001-boot-1.pcap").open("ab") as pcap:
        pcap.write(b"\0")
    write_summary(reports, RACK, MANIFEST)
    [item] = evidence(reports, "pcaps.json")["pcaps"]
    assert item["unchanged_since_judged"] is False
    assert (item["packets"], item["kernel_drops"], item["capture_died"]) == (9, 2, False)


def test_the_name_maps_policy_and_geo_are_in_the_pack(leaky_run: Path) -> None:
    names = evidence(leaky_run, "names.json")
    assert names["merged"]["dns"]["zfhmd.vnet.cn"] == ["127.0.86.10"]
    assert names["merged"]["dns"]["fota.vendor.example"] == ["127.0.44.10"]
    assert names["merged"]["host"] == {"zfhmd.vnet.cn": ["127.0.86.10"]}
    assert names["merged"]["sni"] == {"fota.vendor.example": ["127.0.44.10"]}
    assert len(names["per_cycle"]) == 3
    policy = evidence(leaky_run, "policy.json")
    assert policy["allowed_countries"] == ["DE", "FI", "SE", "US"]
    assert policy["identifier_recipients"] == ["fota.vendor.example"]
    geo = evidence(leaky_run, "geo.json")
    assert [s["name"] for s in geo["sources"]] == ["geoip2fast", "iptocc"]
    assert all(s["license"] for s in geo["sources"])
    assert {"host": "zfhmd.vnet.cn", "address": "127.0.86.10", "country": "CN",
            "owner": "Chinanet"} in geo["overlay"]  # fmt: skip
    provenance = evidence(leaky_run, "provenance.json")
    assert provenance["framework_version"] and provenance["git_commit"]


def test_identities_are_hashed_never_raw_and_the_pack_is_owner_only(leaky_run: Path) -> None:
    phones = evidence(leaky_run, "identities.json")["phones"]
    hashes = {i["kind"]: i["sha256"] for i in phones[0]["identities"] if i["kind"] != "imei"}
    assert hashes["iccid"] == hashlib.sha256(f"iccid:{ICCID}".encode()).hexdigest()
    imeis = [i["sha256"] for i in phones[0]["identities"] if i["kind"] == "imei"]
    assert identity_hash("imei", IMEI) in imeis
    for path in (summary_dir(leaky_run, BUILD) / "evidence").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_no_raw_identifier_in_any_summary_file(leaky_run: Path) -> None:
    raw = {IMEI, OTHER_IMEI, ICCID, IMSI}
    files = [p for p in summary_dir(leaky_run, BUILD).rglob("*") if p.is_file()]
    assert len(files) == 11  # interception.json too (empty of cycles here)
    for path in files:
        text = path.read_text()
        assert not [value for value in raw if value in text], path


def test_an_inconclusive_cycle_makes_the_build_no_go_inconclusive(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    plan(reports, kinds=("boot",))
    judge_and_log(reports, "SIM7P0001", "boot", clean_boot(), BOOT, CaptureHealth(9, 3, False))
    judge_and_log(reports, "SIM7P0002", "boot", clean_boot("127.0.2.2"), BOOT)
    index, decision = write_summary(reports, RACK, MANIFEST)
    assert decision.label == "NO-GO (inconclusive)"
    data = summary_of(reports)
    assert data["decision"] == "NO-GO (inconclusive)"
    [row] = data["inconclusive"]
    assert row["reasons"] == ["kernel dropped 3 packets"]
    assert "NO-GO (inconclusive)</div>" in index.read_text()


def test_every_cycle_passed_is_go(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    plan(reports, kinds=("boot",))
    judge_and_log(reports, "SIM7P0001", "boot", clean_boot(), BOOT)
    judge_and_log(reports, "SIM7P0002", "boot", clean_boot("127.0.2.2"), BOOT)
    index, decision = write_summary(reports, RACK, MANIFEST)
    assert decision.label == "GO" and summary_of(reports)["findings"] == []
    assert "<div class='verdict' id='decision'>GO</div>" in index.read_text()


def test_a_summary_without_any_verdict_is_not_go(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    plan(reports, kinds=("boot",))
    _, decision = write_summary(reports, RACK, MANIFEST, pytest_exit=3)
    assert decision.label == "NO-GO (inconclusive)"
    data = summary_of(reports)
    assert data["tested_at"] is None and data["counts"]["missing"] == 2
    assert [c["text"] for r in data["matrix"]["rows"] for c in r["cells"]] == [
        "no result (bench fault)"
    ] * 2


def test_the_verdict_log_line_holds_what_the_summary_needs(leaky_run: Path) -> None:
    log = verdict_log_path(leaky_run, BUILD)
    line = json.loads(log.read_text().splitlines()[0])
    assert (line["device_ref"], line["cycle"], line["verdict"]) == (
        device_ref("SIM7P0001"), "boot", "fail",
    )  # fmt: skip
    assert line["pcap_sha256"] == hashlib.sha256(Path(line["pcap"]).read_bytes()).hexdigest()
    assert [(e["name"], e["at"]) for e in line["events"]] == BOOT
    cn = [f for f in line["flows"] if f["country"] == "CN"]
    assert len(cn) == 1 and cn[0]["name"] == "zfhmd.vnet.cn" and cn[0]["owner"] == "Chinanet"
    assert 2.0 <= cn[0]["at"] < 3.0  # the capture's packets start 2 s into the window
    assert set(cn[0]["findings"]) == {"cleartext_identifier", "region_violation", "host_violation"}
    assert line["names"]["dns"]["zfhmd.vnet.cn"] == ["127.0.86.10"]
    assert set(line["placements"].values()) == {"0.5 s after boot completed"}
    assert (line["attempt"], line["health"]) == (1, None)
    assert not [v for v in (IMEI, ICCID, IMSI) if v in log.read_text()]


def test_the_auditors_raw_switch_shows_in_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_SHOW_IDENTIFIERS", "1")
    reports = tmp_path / "reports"
    plan(reports, kinds=("boot",))
    judge_and_log(reports, "SIM7P0001", "boot", leaky_boot(), BOOT)
    index, _ = write_summary(reports, RACK, MANIFEST)
    data = summary_of(reports)
    assert data["identifiers_raw"] is True
    assert [r["device"] for r in data["matrix"]["rows"]] == list(PHONES)
    assert "identifiers are shown raw: do not share this report" in index.read_text()
    # Hashed whatever the switch says.
    assert IMEI not in (summary_dir(reports, BUILD) / "evidence" / "identities.json").read_text()
