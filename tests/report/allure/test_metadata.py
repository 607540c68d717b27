"""Allure's run files: categories against real failures, environment, history.

The failures are real: a pytest run with allure-pytest fails tests through the
bench's own enforce_verdict (real Finding messages) and raises its real
exceptions. Their categories are then checked twice: with Allure 2's matching
rule written out here, and in a report rendered by the real Allure CLI.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from benches.analysis.attribution.geo import GeoDatabase
from benches.inventory import load_manifest, load_rack
from benches.report.allure.generator import generate_report
from benches.report.allure.metadata import (
    categories,
    environment,
    merge_values,
    write_run_metadata,
)
from benches.report.allure.properties import parse_properties
from benches.report.provenance import git_commit
from tests.support.allure_tools import category_tree, require_allure
from tests.support.rackfiles import FIXED, LEAKY, REPO, SHIPPED_RACK

FAILURES = """
from pathlib import Path

import pytest

from benches.cycles import CycleRecord
from benches.analysis.results import Analysis, Flow
from benches.policy.judge import CycleResult
from benches.rack.adb.phone import PhoneError
from benches.policy.enforcement import enforce_verdict
from benches.policy.findings import Finding
from benches.policy.verdict import Verdict
from benches.rack.health import BenchFault
from benches.report.allure.attachments import label_result

# The module-scoped fixtures are costly: its tests share one worker, so they are built once.
pytestmark = pytest.mark.xdist_group("tests/report/allure/test_metadata.py")

PCAP = "/reports/pcaps/B/SIM7P0001-boot-1.pcap"


def finding(kind, identifier=None, value=None, country="CN"):
    return Finding(kind, "SIM7P0001", identifier, value, "ascii" if value else None,
                   "127.0.86.10", 80, "zfhmd.vnet.cn", country, "Chinanet", "http", 37, PCAP, "")


def flow(country):
    return Flow(0, PCAP, "tcp", "http", "127.0.2.1", 40000, "127.0.86.10", 80, "SIM7P0001",
                "zfhmd.vnet.cn", "dns", True, ("zfhmd.vnet.cn",), None, "zfhmd.vnet.cn", False,
                country, "Chinanet", "overlay", 5, 500, 100, 100, 30, 40, 0.0, 1.0, 0)


def judged(verdict, findings=(), reasons=(), countries=("CN", "LOCAL", None)):
    record = CycleRecord("SIM7P0001", "boot", 1, Path(PCAP))
    analysis = Analysis((PCAP,), [flow(country) for country in countries])
    result = CycleResult(record, Verdict(verdict, tuple(findings), tuple(reasons)), analysis)
    label_result(result)
    enforce_verdict(result)


def test_leak_with_region_violation():
    judged("fail", [finding("cleartext_identifier", "imei", "3520…452"),
                    finding("cleartext_identifier", "location", "60…4,24…8"),
                    finding("region_violation"), finding("host_violation")])


def test_decrypted_leak():
    judged("fail", [finding("identifier_leak", "iccid", "8935…111", country="US")])


def test_region_violation():
    judged("fail", [finding("region_violation")])


def test_host_violation():
    judged("fail", [finding("host_violation", country="FI")], countries=("FI",))


def test_inconclusive():
    judged("inconclusive", reasons=["the kernel dropped 12 packets"])


def test_bench_fault():
    raise BenchFault("SIM7P0002 is out of the session: recovery gave up after a reboot")


def test_device_fault():
    raise PhoneError("SIM7P0003: getprop ro.serialno answered nothing")


def test_plain_failure():
    assert 1 + 1 == 3


def test_pass():
    judged("pass", countries=("LOCAL", "DE"))
"""

EXPECTED = {
    "test_leak_with_region_violation": "Data leak",
    "test_decrypted_leak": "Data leak",
    "test_region_violation": "Region violation",
    "test_host_violation": "Region violation",
    "test_inconclusive": "Capture blind / inconclusive",
    "test_bench_fault": "Bench fault",
    "test_device_fault": "Device fault",
    "test_plain_failure": "Product defects",  # Allure's default for a failure we do not sort
}


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """allure-results of real failures, with the run files a sign-off of LEAKY writes."""
    work = tmp_path_factory.mktemp("failures")
    (work / "test_failures.py").write_text(FAILURES)
    results = work / "allure-results"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "test_failures.py", "-p", "no:cacheprovider",
         f"--alluredir={results}"],
        cwd=work, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "8 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    write_run_metadata(results, load_rack(SHIPPED_RACK), load_manifest(LEAKY), env={})
    return results


def _results(directory: Path) -> dict[str, dict[str, Any]]:
    found = (json.loads(p.read_text()) for p in directory.glob("*-result.json"))
    return {result["name"]: result for result in found}


def _allure2_categories(result: dict[str, Any]) -> list[str]:
    """Allure 2's rule: status in the list, whole message and trace match (DOTALL)."""
    details = result.get("statusDetails") or {}
    names = []
    for category in categories():
        if result["status"] not in category["matchedStatuses"]:
            continue
        checks = (("messageRegex", "message"), ("traceRegex", "trace"))
        if all(
            pattern not in category
            or re.fullmatch(category[pattern], details.get(field) or "", re.DOTALL)
            for pattern, field in checks
        ):
            names.append(category["name"])
    return names


def test_each_real_failure_matches_exactly_its_category(failures: Path) -> None:
    results = _results(failures)
    for name, category in EXPECTED.items():
        wanted = [] if category == "Product defects" else [category]
        assert _allure2_categories(results[name]) == wanted, results[name]["statusDetails"]
    assert _allure2_categories(results["test_pass"]) == []


def test_the_real_allure_report_files_each_failure_under_its_category(
    failures: Path, tmp_path: Path
) -> None:
    generated = generate_report([failures], tmp_path / "report", cli=require_allure())
    filed = category_tree(generated.directory)
    for name, category in EXPECTED.items():
        assert {c for c, tests in filed.items() if name in tests} == {category}, filed


def test_the_real_allure_report_shows_the_environment_as_written(
    failures: Path, tmp_path: Path
) -> None:
    written = parse_properties((failures / "environment.properties").read_text("latin-1"))
    generated = generate_report([failures], tmp_path / "report", cli=require_allure())
    shown = json.loads((generated.directory / "widgets" / "environment.json").read_text())
    assert {item["name"]: item["values"] for item in shown} == {
        key: [value] for key, value in written.items()
    }
    assert written["firmware.builds"] == "00WW_3_22C"
    assert written["geo.geoip2fast.date"] == "2024-06-18"


def test_label_result_makes_a_leak_a_blocker_tagged_with_its_countries(failures: Path) -> None:
    results = _results(failures)

    def labels(name: str, label: str) -> list[str]:
        return sorted(x["value"] for x in results[name]["labels"] if x["name"] == label)

    assert labels("test_leak_with_region_violation", "severity") == ["blocker"]
    assert labels("test_region_violation", "severity") == ["blocker"]
    assert labels("test_inconclusive", "severity") == []
    assert labels("test_leak_with_region_violation", "tag") == ["CN", "unknown country"]
    assert labels("test_host_violation", "tag") == ["FI"]
    assert labels("test_pass", "tag") == ["DE"]


def test_environment_names_build_bench_geo_data_version_and_commit() -> None:
    rack, manifest = load_rack(SHIPPED_RACK), load_manifest(LEAKY)
    values = environment(rack, manifest, GeoDatabase())
    assert values["bench"] == rack.bench.name
    assert values["firmware.builds"] == manifest.build
    assert values[f"firmware.{manifest.build}.fingerprint"] == manifest.fingerprint
    assert values["framework.version"] == f"benches {metadata.version('benches')}"
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert values["framework.commit"].split()[0] == head
    assert values["geo.geoip2fast.data"].startswith("MAXMIND:GeoLite2")
    assert "GeoLite2 End User License Agreement" in values["geo.geoip2fast.license"]
    assert values["geo.iptocc.date"].startswith("not recorded (package built ")
    assert "geo.overlay" not in values
    assert rack.virtual is not None
    endpoints = rack.virtual.endpoints
    virtual = environment(rack, manifest, GeoDatabase.for_rack(rack))
    assert virtual["geo.overlay"].startswith(f"{len(endpoints)} addresses")


def test_git_commit_outside_a_checkout_is_unknown(tmp_path: Path) -> None:
    assert git_commit((tmp_path,)) == "unknown"


def test_several_builds_in_one_results_directory_list_every_build(tmp_path: Path) -> None:
    rack = load_rack(SHIPPED_RACK)
    fixed, leaky = load_manifest(FIXED), load_manifest(LEAKY)
    write_run_metadata(tmp_path, rack, fixed, env={})
    write_run_metadata(tmp_path, rack, leaky, env={})
    values = parse_properties((tmp_path / "environment.properties").read_text("latin-1"))
    assert values["firmware.builds"] == f"{fixed.build} | {leaky.build}"
    assert values[f"firmware.{fixed.build}.fingerprint"] == fixed.fingerprint
    assert values[f"firmware.{leaky.build}.fingerprint"] == leaky.fingerprint
    assert values["bench"] == rack.bench.name
    assert not (tmp_path / "executor.json").exists()


def test_merging_keeps_values_that_contain_the_separator_words() -> None:
    licence = "MIT OR Apache-2.0; data: RIRs (AFRINIC, APNIC, ARIN)"
    assert merge_values({"l": licence}, {"l": licence}) == {"l": licence}
    assert merge_values({"b": "A"}, {"b": "B"}) == {"b": "A | B"}


def test_the_real_allure_report_keeps_history_across_runs(failures: Path, tmp_path: Path) -> None:
    cli = require_allure()
    results = tmp_path / "results"
    shutil.copytree(failures, results)
    first = generate_report([results], tmp_path / "report", cli=cli)
    second = generate_report([results], tmp_path / "report", cli=cli)
    assert (first.runs, second.runs) == (1, 2)
    trend = json.loads((second.directory / "widgets" / "history-trend.json").read_text())
    assert len(trend) == 2
