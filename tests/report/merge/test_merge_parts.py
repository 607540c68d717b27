"""The merge's parts: bench labels on Allure results, the one answer per build, copying."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from benches.report.merge.allure_results import labelled
from benches.report.merge.copying import copy_tree
from benches.report.merge.html import render_build
from benches.report.merge.inputs import read_bench_results
from benches.report.merge.model import merged_builds, summary_json
from benches.report.merge.writer import bench_folders
from tests.support.bench_results import write_bench_results

RESULT = {
    "uuid": "u1",
    "historyId": "h1",
    "testCaseId": "t1",
    "name": "test_boot[SI_1-cycle1]",
    "parameters": [{"name": "phone", "value": "'SI…1'"}],
    "labels": [{"name": "suite", "value": "test_boot"}, {"name": "host", "value": "vm"}],
}


def test_the_same_test_on_two_benches_gets_two_ids_and_says_its_bench() -> None:
    a, b = labelled(RESULT, "bench-a"), labelled(RESULT, "bench-b")
    assert a["historyId"] != b["historyId"] and a["testCaseId"] != b["testCaseId"]
    assert a["historyId"] == labelled(RESULT, "bench-a")["historyId"]  # history across nights
    assert a["parameters"] == [
        {"name": "bench", "value": "bench-a"},
        {"name": "phone", "value": "'SI…1'"},
    ]
    assert a["labels"] == [
        {"name": "parentSuite", "value": "bench-a"},
        {"name": "host", "value": "bench-a"},
        {"name": "suite", "value": "test_boot"},
    ]
    assert RESULT["historyId"] == "h1"  # the input is left alone


def test_benches_that_tested_different_fingerprints_are_not_go(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {"B1": ["pass"]})
    b = write_bench_results(tmp_path / "b", "bench-b", {"B1": ["pass"]})
    path = b / "signoff" / "B1" / "summary.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "fingerprint": "other"}))
    benches = [read_bench_results(a), read_bench_results(b)]
    (build,) = merged_builds(benches, ["bench-a", "bench-b"])
    assert build.decision.label == "NO-GO (inconclusive)"
    assert build.decision.reasons == (
        "the benches tested different fingerprints: Nokia/ta1046/B1:user, other",
    )


def test_a_hostile_bench_name_is_escaped_on_the_page_and_makes_a_plain_folder(
    tmp_path: Path,
) -> None:
    name = "<script>x</script>/../lab"
    a = write_bench_results(tmp_path / "a", name, {"B1": ["pass"]})
    benches = [read_bench_results(a)]
    (build,) = merged_builds(benches, bench_folders([name]))
    page = render_build(summary_json(build, "2026-12-07T02:00:00+00:00"))
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;/../lab" in page
    assert bench_folders([name, "lab", "lab"]) == ["script_x_script_.._lab", "lab", "lab-2"]


def test_links_in_a_bench_s_results_are_not_followed(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "evidence").mkdir(parents=True)
    (tmp_path / "secret").write_text("root's")
    (source / "evidence" / "geo.json").symlink_to(tmp_path / "secret")
    (source / "evidence" / "policy.json").write_text("{}")
    os.chmod(source / "evidence" / "policy.json", 0o644)
    target = tmp_path / "merged"
    left_out = copy_tree(source, target / "copy", target)
    assert left_out == [str(source / "evidence" / "geo.json")]
    assert not (target / "copy" / "evidence" / "geo.json").exists()
    policy = target / "copy" / "evidence" / "policy.json"
    assert stat.S_IMODE(policy.stat().st_mode) == 0o600  # an evidence pack's file
