"""``bench merge`` of two real benches' sign-offs on the virtual rack: bench A signs off the
FIXED and the LEAKY build, bench B the FIXED one only (the boot cycle of three phones each)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from benches.inventory import load_rack
from tests.support.allure_tools import require_allure
from tests.support.rackfiles import FIXED, LEAKY, REPO, relocated_rack

FIXED_BUILD, LEAKY_BUILD = "00WW_3_22D", "00WW_3_22C"


@dataclass(frozen=True)
class TwoBenches:
    a: Path
    b: Path
    racks: tuple[Path, Path]
    out: Path
    merge: subprocess.CompletedProcess[str]


def bench_signoff(workdir: Path, name: str, shift: int, port: int, *builds: Path) -> Path:
    (workdir / name).mkdir()
    devices = relocated_rack(workdir / name, shift=shift, adb_port=port)
    text = re.sub(r"(?m)^  name: .*$", f"  name: {name}", devices.read_text(), count=1)
    devices.write_text(text)
    testcases = workdir / name / "testcases"
    testcases.mkdir()
    shutil.copy(REPO / "testcases" / "test_boot.py", testcases)
    reports = workdir / name / "reports"
    firmware = [arg for build in builds for arg in ("--firmware", str(build))]
    done = subprocess.run(
        [sys.executable, "-m", "benches", "signoff", "--devices", str(devices), *firmware,
         "--reports", str(reports), "--testcases", str(testcases)],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "BENCH_ALLURE": str(workdir / "no-allure")},  # its own report: none
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return reports


@pytest.fixture(scope="module")
def two_benches(tmp_path_factory: pytest.TempPathFactory) -> TwoBenches:
    require_allure()
    workdir = tmp_path_factory.mktemp("merge-live")
    a = bench_signoff(workdir, "bench-a", 71, 5211, FIXED, LEAKY)
    b = bench_signoff(workdir, "bench-b", 72, 5212, FIXED)
    out = workdir / "merged"
    merge = subprocess.run(
        [sys.executable, "-m", "benches", "merge", str(a), str(b), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    racks = (a.parent / "devices.yaml", b.parent / "devices.yaml")
    return TwoBenches(a, b, racks, out, merge)


@pytest.mark.live
def test_two_real_benches_give_one_answer_per_build(two_benches: TwoBenches) -> None:
    done = two_benches.merge
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == ""
    assert f"  GO                   build {FIXED_BUILD}   bench-a GO · bench-b GO" in done.stdout
    assert (
        f"  NO-GO                build {LEAKY_BUILD}   bench-a NO-GO · bench-b not run there"
        in done.stdout
    )
    leaky = json.loads((two_benches.out / "signoff" / LEAKY_BUILD / "summary.json").read_text())
    assert leaky["decision"] == "NO-GO"
    assert leaky["reasons"][0].startswith("NO-GO on bench bench-a: 3 cycles leaked")
    assert leaky["reasons"][1:] == ["not run on bench bench-b"]
    fixed = json.loads((two_benches.out / "signoff" / FIXED_BUILD / "summary.json").read_text())
    assert (fixed["decision"], fixed["counts"]["pass"], fixed["counts"]["expected"]) == (
        "GO",
        6,
        6,
    )
    assert [(row["bench"], len(row["phones"])) for row in fixed["matrix"]["rows"]] == [
        ("bench-a", 3),
        ("bench-b", 3),
    ]


@pytest.mark.live
def test_one_allure_report_keeps_each_bench_s_tests_apart(two_benches: TwoBenches) -> None:
    report = two_benches.out / "allure-report"
    assert f"Allure report:  {report / 'index.html'}" in two_benches.merge.stdout
    statistic = json.loads((report / "widgets" / "summary.json").read_text())["statistic"]
    # bench A: 3 phones x 2 builds, bench B: 3 phones x 1; none folded into another's retry
    assert (statistic["total"], statistic["passed"], statistic["failed"]) == (9, 6, 3)
    suites = json.loads((report / "data" / "suites.json").read_text())
    assert sorted(child["name"] for child in suites["children"]) == ["bench-a", "bench-b"]


@pytest.mark.live
def test_the_merge_keeps_each_bench_s_evidence_owner_only_and_checkable(
    two_benches: TwoBenches,
) -> None:
    for name in ("bench-a", "bench-b"):
        kept = two_benches.out / "benches" / name
        evidence = kept / "signoff" / FIXED_BUILD / "evidence"
        pcaps = sorted((kept / "pcaps" / FIXED_BUILD).glob("*.pcap"))
        assert len(pcaps) == 3
        for path in [*pcaps, *evidence.iterdir()]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        check = subprocess.run(
            ["sha256sum", "-c", str(evidence / "SHA256SUMS")],
            cwd=kept, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.count(": OK\n") == 3


@pytest.mark.live
def test_no_raw_identifier_in_the_merged_summaries_and_results(two_benches: TwoBenches) -> None:
    values: set[str] = set()
    for rack in map(load_rack, two_benches.racks):
        for device in rack.devices:
            identity = device.identity
            found = (device.serial, *identity.imei, identity.iccid, identity.imsi)
            values |= {v for v in (*found, identity.serial, identity.wifi_mac) if v}
    assert len(values) >= 12
    pattern = re.compile("|".join(re.escape(v) for v in values))
    out = two_benches.out
    # Everything but the pcaps (raw bytes by design: owner-only, see the test above).
    readable = [*(out / "signoff").rglob("*"), *(out / "allure-results").iterdir()]
    readable += [out / "merge.json", *(out / "allure-report" / "data").rglob("*.json")]
    checked = 0
    for path in readable:
        if path.is_file() and path.suffix != ".pcap":
            assert not pattern.search(path.read_text(errors="replace")), path
            checked += 1
    assert checked > 20
