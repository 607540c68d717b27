"""The sign-off summary of real sign-offs on a virtual rack of this module's own
(127.91.0.0/16, adb port 5231): the leaky build's says NO-GO with its leaks masked,
the fixed build's says GO, and the evidence pack's hashes are the pcaps'.

With BENCH_SCREENSHOTS=1 the leaky page, as Debian's Chromium shows it, is saved
as docs/images/signoff-summary.png for the README.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import expect

from benches.inventory import load_rack
from benches.report.summary.writer import summary_dir
from tests.support.browser import chromium_page
from tests.support.rackfiles import FIXED, LEAKY, REPO, relocated_rack
from tests.support.signoff_run import signoff

pytestmark = pytest.mark.live

LEAKY_BUILD, FIXED_BUILD = "00WW_3_22C", "00WW_3_22D"
SCREENSHOT = REPO / "docs" / "images" / "signoff-summary.png"


class Runs(NamedTuple):
    reports: Path
    devices: Path
    leaky: subprocess.CompletedProcess[str]
    fixed: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    work = tmp_path_factory.mktemp("summary-live")
    devices = relocated_rack(work, shift=91, adb_port=5231)
    reports = work / "reports"
    leaky = signoff(
        LEAKY, devices, reports, args=["testcases/test_boot.py", "testcases/test_unlock.py"]
    )
    assert leaky.returncode == 1, leaky.stdout + leaky.stderr
    fixed = signoff(FIXED, devices, reports, args=["testcases/test_boot.py"])
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    return Runs(reports, devices, leaky, fixed)


def summary(runs: Runs, build: str) -> dict[str, Any]:
    return json.loads((summary_dir(runs.reports, build) / "summary.json").read_text())


def test_the_leaky_builds_summary_says_no_go_and_lists_its_leaks_masked(runs: Runs) -> None:
    index = summary_dir(runs.reports, LEAKY_BUILD) / "index.html"
    assert f"sign-off summary: NO-GO, {index}" in runs.leaky.stdout
    page = index.read_text()
    assert "<div class='verdict' id='decision'>NO-GO</div>" in page
    for n, imei, iccid in ((1, "452", "111"), (2, "478", "210"), (3, "458", "319")):
        leaks = f"IMEI 3520…{imei}, ICCID 8935…{iccid}, serial SI…{n}, location 60…"
        assert page.count(leaks) == 2  # its boot and its unlock cycle
    assert "zfhmd.vnet.cn (127.91.86.10:80, CN, Chinanet)" in page

    data = summary(runs, LEAKY_BUILD)
    assert data["decision"] == "NO-GO"
    assert data["counts"] == {
        "expected": 6, "judged": 6, "pass": 0, "fail": 6, "inconclusive": 0, "missing": 0,
    }  # fmt: skip
    matrix = data["matrix"]
    assert matrix["columns"] == [{"cycle": "boot", "index": 1}, {"cycle": "unlock", "index": 1}]
    assert [(r["phone"], r["device"]) for r in matrix["rows"]] == [
        (1, "SI…1"), (2, "SI…2"), (3, "SI…3"),
    ]  # fmt: skip
    assert {c["verdict"] for r in matrix["rows"] for c in r["cells"]} == {"fail"}
    imeis = [f for f in data["findings"] if f["identifier"] == "imei"]
    assert {(f["phone"], f["cycle"]) for f in imeis} == {
        (n, kind) for n in (1, 2, 3) for kind in ("boot", "unlock")
    }
    assert all(f["when"] and f["packet"] > 0 for f in imeis)
    assert any(f["when"].endswith("s after unlock") for f in imeis if f["cycle"] == "unlock")
    assert {t["country"]: t["status"] for t in data["traffic"]}["CN"] == "forbidden"


def test_the_fixed_builds_summary_says_go(runs: Runs) -> None:
    index = summary_dir(runs.reports, FIXED_BUILD) / "index.html"
    assert f"sign-off summary: GO, {index}" in runs.fixed.stdout
    assert "<div class='verdict' id='decision'>GO</div>" in index.read_text()
    data = summary(runs, FIXED_BUILD)
    assert (data["decision"], data["findings"], data["reasons"]) == ("GO", [], [])
    cells = [c["verdict"] for r in data["matrix"]["rows"] for c in r["cells"]]
    assert cells == ["pass"] * 3
    assert "CN" not in {t["country"] for t in data["traffic"]}


def test_the_evidence_pack_hashes_are_the_pcaps(runs: Runs) -> None:
    evidence = summary_dir(runs.reports, LEAKY_BUILD) / "evidence"
    assert sorted(p.name for p in evidence.iterdir()) == [
        "SHA256SUMS", "geo.json", "identities.json", "interception.json", "names.json",
        "pcaps.json", "policy.json", "provenance.json",
    ]  # fmt: skip
    pcaps = json.loads((evidence / "pcaps.json").read_text())["pcaps"]
    on_disk = sorted((runs.reports / "pcaps" / LEAKY_BUILD).glob("*.pcap"))
    assert len(pcaps) == len(on_disk) == 6
    for item in pcaps:
        pcap = runs.reports / item["path"]
        assert item["sha256"] == hashlib.sha256(pcap.read_bytes()).hexdigest()
        assert item["unchanged_since_judged"] is True
        assert item["kernel_drops"] == 0 and item["packets"] > 0
    # What an auditor runs, with the real coreutils tool.
    checked = subprocess.run(
        ["sha256sum", "--strict", "-c", str(evidence / "SHA256SUMS")],
        cwd=runs.reports, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0 and checked.stdout.count(": OK") == 6, checked.stdout
    names = json.loads((evidence / "names.json").read_text())["merged"]
    assert names["dns"]["zfhmd.vnet.cn"] == ["127.91.86.10"]


def test_no_raw_identifier_in_any_summary_file(runs: Runs) -> None:
    rack = load_rack(runs.devices)
    raw = {
        value
        for device in rack.devices
        for value in (
            *device.identity.imei,
            device.identity.iccid,
            device.identity.imsi,
            device.identity.serial,
            device.serial,
        )
        if value
    }
    files = [p for p in (runs.reports / "signoff").rglob("*") if p.is_file()]
    assert len(files) == 2 * 11  # interception.json too (no cycle intercepted here)
    for path in files:
        text = path.read_text()
        assert not [value for value in raw if value in text], path


def test_allure_has_the_cycle_timeline_and_the_builds_traffic_chart(runs: Runs) -> None:
    results = runs.reports / "allure-results"
    svg = "image/svg+xml"
    failed = [
        r
        for r in (json.loads(p.read_text()) for p in results.glob("*-result.json"))
        if r["status"] == "failed"
    ]
    assert len(failed) == 6
    for result in failed:
        attached = [a for s in result["steps"] for a in s.get("attachments", [])]
        assert any(a["name"] == "timeline chart" and a["type"] == svg for a in attached)
        assert (results / attached[0]["source"]).exists()
    teardowns = [
        after
        for c in (json.loads(p.read_text()) for p in results.glob("*-container.json"))
        for after in c.get("afters", [])
        if after["name"].startswith("signoff_build_chart")
    ]
    charts = [a for t in teardowns for a in t.get("attachments") or () if a["type"] == svg]
    assert len(charts) == 2  # one per build's session, shown in each test's tear-down
    assert {a["name"] for a in charts} == {"where the traffic went"}


def test_the_summary_page_in_a_real_browser(runs: Runs, tmp_path: Path) -> None:
    index = summary_dir(runs.reports, LEAKY_BUILD) / "index.html"
    shot = tmp_path / "signoff-summary.png"
    with chromium_page(tmp_path / "chromium-profile", 1280, 1500) as page:
        page.goto(index.as_uri())
        expect(page.locator("#decision")).to_have_text("NO-GO")
        expect(page.locator("table.matrix td.fail")).to_have_count(6)
        expect(page.locator("svg [data-country='CN'].forbidden")).to_be_visible()
        page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0
    if os.environ.get("BENCH_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
