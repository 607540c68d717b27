"""``bench merge``: several benches' sign-offs as one answer per build and one Allure report
(the real Allure CLI), bad input in one line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.allure_tools import require_allure
from tests.support.bench_results import write_bench_results
from tests.support.rackfiles import REPO

FIXED, LEAKY = "00WW_3_22D", "00WW_3_22C"


def bench_merge(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benches", "merge", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **env},
    )  # fmt: skip


def merged(out: Path, build: str) -> dict:
    return json.loads((out / "signoff" / build / "summary.json").read_text())


def test_two_benches_go_make_one_go_and_one_report_with_every_bench_s_tests(
    tmp_path: Path,
) -> None:
    require_allure()
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    b = write_bench_results(tmp_path / "b", "bench-b", {FIXED: ["pass", "pass"]})
    out = tmp_path / "merged"
    done = bench_merge(a, b, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"  GO                   build {FIXED}   bench-a GO · bench-b GO" in done.stdout
    summary = merged(out, FIXED)
    assert (summary["decision"], summary["reasons"]) == ("GO", [])
    assert summary["counts"]["pass"] == 4
    rows = summary["matrix"]["rows"]
    assert [(r["bench"], len(r["phones"])) for r in rows] == [("bench-a", 2), ("bench-b", 2)]
    # The same test on two benches is two tests, not one run twice (Allure's retries).
    statistic = json.loads((out / "allure-report" / "widgets" / "summary.json").read_text())
    assert (statistic["statistic"]["total"], statistic["statistic"]["passed"]) == (4, 4)
    suites = json.loads((out / "allure-report" / "data" / "suites.json").read_text())
    assert sorted(child["name"] for child in suites["children"]) == ["bench-a", "bench-b"]


def test_one_bench_no_go_makes_the_build_no_go_naming_the_bench(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {LEAKY: ["pass", "pass"]})
    b = write_bench_results(tmp_path / "b", "bench-b", {LEAKY: ["pass", "fail"]})
    out = tmp_path / "merged"
    done = bench_merge(a, b, "--out", out, BENCH_ALLURE=str(tmp_path / "no-allure"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"  NO-GO                build {LEAKY}   bench-a GO · bench-b NO-GO" in done.stdout
    summary = merged(out, LEAKY)
    assert summary["decision"] == "NO-GO"
    assert summary["reasons"] == ["NO-GO on bench bench-b: 1 cycle leaked or broke the policy"]
    page = (out / "signoff" / LEAKY / "index.html").read_text()
    assert "id='decision'>NO-GO</div>" in page
    assert "<td>bench-b</td><td class='fail'>NO-GO</td>" in page


def test_a_build_a_bench_did_not_run_is_not_run_there_and_never_go(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass"] * 2, LEAKY: ["pass"] * 2})
    b = write_bench_results(tmp_path / "b", "bench-b", {FIXED: ["pass", "pass"]})
    out = tmp_path / "merged"
    done = bench_merge(a, b, "--out", out, BENCH_ALLURE=str(tmp_path / "no-allure"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"build {LEAKY}   bench-a GO · bench-b not run there" in done.stdout
    assert f"  GO                   build {FIXED}" in done.stdout
    summary = merged(out, LEAKY)
    assert summary["decision"] == "NO-GO (inconclusive)"
    assert summary["reasons"] == ["not run on bench bench-b"]
    assert summary["benches"][1] == {"bench": "bench-b", "decision": "not run there"}
    assert summary["matrix"]["rows"][1] == {
        "bench": "bench-b",
        "decision": "not run there",
        "phones": [],
    }
    page = (out / "signoff" / LEAKY / "index.html").read_text()
    assert "<td class='notrun' colspan='1'>not run there</td>" in page
    front = (out / "index.html").read_text()
    assert (
        f"<tr><td><a href='signoff/{LEAKY}/index.html'>{LEAKY}</a></td>"
        "<td class='inconclusive'>NO-GO (inconclusive)</td><td class='pass'>GO</td>"
        "<td class='notrun'>not run there</td></tr>"
    ) in front
    index = json.loads((out / "merge.json").read_text())
    assert [(b["build"], b["decision"]) for b in index["builds"]] == [
        (LEAKY, "NO-GO (inconclusive)"),
        (FIXED, "GO"),
    ]


def test_an_inconclusive_bench_keeps_the_build_from_go(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    b = write_bench_results(tmp_path / "b", "bench-b", {FIXED: ["pass", "missing"]})
    done = bench_merge(a, b, "--out", tmp_path / "m", BENCH_ALLURE=str(tmp_path / "none"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert merged(tmp_path / "m", FIXED)["reasons"] == [
        "NO-GO (inconclusive) on bench bench-b: 1 of 2 collected cycles has no verdict "
        "(bench fault)"
    ]


def test_each_bench_s_evidence_is_kept_owner_only_and_still_checks(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    b = write_bench_results(tmp_path / "b", "bench b/2", {FIXED: ["pass", "pass"]})
    # bench b's came out of a CI artifact, which keeps no modes; its Allure results hold
    # the pcap attached to a test, raw bytes too.
    (b / "allure-results" / "1f2e-attachment.pcap").write_bytes(b"\xd4\xc3\xb2\xa1")
    for path in [*b.rglob("*.pcap"), *b.rglob("pcaps.json")]:
        path.chmod(0o644)
    out = tmp_path / "merged"
    done = bench_merge(a, b, "--out", out, BENCH_ALLURE=str(tmp_path / "no-allure"))
    assert done.returncode == 0, done.stdout + done.stderr
    for folder in ("bench-a", "bench_b_2"):
        kept = out / "benches" / folder
        for path in (
            kept / "signoff" / FIXED / "evidence" / "pcaps.json",
            kept / "pcaps" / FIXED / "phone1-boot1.pcap",
        ):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert (kept / "signoff" / FIXED / "summary.json").is_file()
    attached = out / "allure-results" / "1f2e-attachment.pcap"
    assert stat.S_IMODE(attached.stat().st_mode) == 0o600
    summary = merged(out, FIXED)
    assert summary["benches"][1]["evidence"] == f"benches/bench_b_2/signoff/{FIXED}/evidence"


def test_only_masked_identifiers_unless_the_auditor_asks(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    raw = write_bench_results(
        tmp_path / "b", "bench-b", {FIXED: ["pass", "pass"]}, raw=True,
        labels=("SERIAL00000001", "SERIAL00000002"),
    )  # fmt: skip
    out = tmp_path / "merged"
    done = bench_merge(a, raw, "--out", out, BENCH_ALLURE=str(tmp_path / "no-allure"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"bench: error: {raw / 'signoff' / FIXED / 'summary.json'}: identifiers are raw "
        "(signed off with --show-identifiers); merge with --show-identifiers to accept them\n"
    )
    assert not out.exists()
    done = bench_merge(a, "--out", out, BENCH_ALLURE=str(tmp_path / "no-allure"))
    assert done.returncode == 0, done.stdout + done.stderr
    text = (out / "signoff" / FIXED / "summary.json").read_text()
    assert '"device": "SI…1"' in text and "SERIAL" not in text
    allowed = bench_merge(
        a, raw, "--out", out, "--show-identifiers", BENCH_ALLURE=str(tmp_path / "no-allure")
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert merged(out, FIXED)["identifiers_raw"] is True
    assert "raw" in (out / "signoff" / FIXED / "index.html").read_text().lower()


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_a_directory_that_is_not_a_bench_s_results_is_named(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    (tmp_path / "empty").mkdir()
    error = one_line_error(bench_merge(a, tmp_path / "empty", "--out", tmp_path / "m"))
    assert error == (
        f"bench: error: {tmp_path / 'empty'}: not a bench's sign-off results "
        "(no signoff/<build>/summary.json)\n"
    )
    error = one_line_error(bench_merge(a, tmp_path / "nowhere", "--out", tmp_path / "m"))
    assert error == f"bench: error: {tmp_path / 'nowhere'}: no such directory\n"


def test_the_same_bench_twice_is_refused(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    again = write_bench_results(tmp_path / "again", "bench-a", {LEAKY: ["pass", "pass"]})
    error = one_line_error(bench_merge(a, again, "--out", tmp_path / "m"))
    assert error == (
        f"bench: error: {again}: bench bench-a again (its results are already in {a})\n"
    )


def test_a_damaged_summary_is_named(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    b = write_bench_results(tmp_path / "b", "bench-b", {FIXED: ["pass", "fail"]})
    path = b / "signoff" / FIXED / "summary.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "decision": "GO", "reasons": []}))
    error = one_line_error(bench_merge(a, b, "--out", tmp_path / "m"))
    assert error == (
        f"bench: error: {path}: damaged summary: it says GO where its counts say NO-GO\n"
    )
    path.write_text(path.read_text()[:-40])
    error = one_line_error(bench_merge(a, b, "--out", tmp_path / "m"))
    assert error.startswith(f"bench: error: {path}: damaged summary: not JSON (")
    assert not (tmp_path / "m").exists()


def test_an_output_directory_that_is_not_a_merge_is_not_touched(tmp_path: Path) -> None:
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    error = one_line_error(bench_merge(a, "--out", out))
    assert error == (
        f"bench: error: {out}: refusing to write into it: not empty and not an earlier merge "
        "(no merge.json)\n"
    )
    assert (out / "thesis.tex").read_text() == "years of work"
    error = one_line_error(bench_merge(a, "--out", a / "merged"))
    assert "the merge would be written into or around the results it reads" in error


def test_a_kept_history_alone_is_where_a_merge_may_go(tmp_path: Path) -> None:
    """The nightly merge job brings back only allure-report/history/ from the cache."""
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    out = tmp_path / "merged"
    (out / "allure-report" / "history").mkdir(parents=True)
    done = bench_merge(a, "--out", out, BENCH_ALLURE=str(tmp_path / "no-allure"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "allure-report" / "history").is_dir()


def test_a_merge_again_without_a_report_leaves_no_earlier_report_standing(
    tmp_path: Path,
) -> None:
    require_allure()
    a = write_bench_results(tmp_path / "a", "bench-a", {FIXED: ["pass", "pass"]})
    b = write_bench_results(tmp_path / "b", "bench-b", {FIXED: ["pass", "pass"]})
    out = tmp_path / "merged"
    assert bench_merge(a, b, "--out", out).returncode == 0
    assert (out / "allure-report" / "index.html").is_file()
    b = write_bench_results(tmp_path / "b2", "bench-b", {FIXED: ["pass", "fail"]})
    done = bench_merge(a, b, "--out", out, BENCH_ALLURE=str(tmp_path / "no-allure"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Allure report:  not generated: no Allure CLI at" in done.stdout
    assert sorted(p.name for p in (out / "allure-report").iterdir()) == ["history"]
    again = bench_merge(a, b, "--out", out)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "(trends over 1 earlier run;" in again.stdout
