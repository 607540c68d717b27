"""Decompression bombs and the decode budget (issue 12, "Bounded work").

Every decoded byte is paid for out of a per-flow and a per-capture budget
(benches/analysis/protocols/budget.py). A capture whose bombs spend it is
inconclusive, with the flow named; a leak the budget reached is still a fail;
a leak past it is never a pass. Memory stays bounded: the layers are decoded
and searched chunk by chunk, never held whole.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.detection.detector import Detector
from benches.analysis.inspection import Inspector
from benches.analysis.packet_loop import read_flows
from benches.analysis.pcap.files import read_packets
from benches.analysis.protocols.budget import (
    CAPTURE_DECODED,
    FLOW_DECODED,
    MAX_CODINGS,
    DecodeBudget,
)
from benches.analysis.protocols.notes import BUDGET_SPENT
from benches.analysis.results import Analysis
from benches.policy.evaluation import evaluate
from benches.policy.findings import CLEARTEXT_IDENTIFIER
from benches.policy.verdict import Outcome, Verdict
from tests.support import hostile
from tests.support.paths import REPO
from tests.support.pcaps import IMEI, make_policy, make_rack

# The module-scoped fixtures are costly: its tests share one worker, so they are built once.
pytestmark = pytest.mark.xdist_group("tests/analysis/test_budgets.py")

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
DETECTOR = Detector(RACK)
PAST_THE_FLOW_BUDGET = FLOW_DECODED + (6 << 20)


def judged(path: Path) -> tuple[Analysis, Verdict]:
    analysis = analyze([path], RACK, GEO)
    return analysis, evaluate(analysis, make_policy())


def inspected(path: Path) -> Inspector:
    """The capture read by one inspector, kept to look at its budgets."""
    inspector = Inspector(DETECTOR)
    inspector.new_capture(DecodeBudget.for_capture(path.stat().st_size))
    read_flows(read_packets(path), inspector)
    return inspector


def spent_notes(analysis: Analysis) -> list[tuple[int, str]]:
    return [(f.client_port, n.detail) for f in analysis.flows for n in f.notes
            if n.kind == BUDGET_SPENT]  # fmt: skip


@pytest.fixture(scope="module")
def one_segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bombs") / "segment.pcap"
    return hostile.write(path, hostile.bombs_in_one_segment(12))


@pytest.fixture(scope="module")
def forty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bombs") / "forty.pcap"
    return hostile.write(path, hostile.bombs_in_flows(40, flows=8))


def test_twelve_bombs_in_one_segment_spend_the_flow_budget(one_segment: Path) -> None:
    assert one_segment.stat().st_size < 4096
    analysis, verdict = judged(one_segment)
    assert verdict.outcome is Outcome.INCONCLUSIVE and not verdict.findings
    assert spent_notes(analysis) == [
        (41000, "decoding HTTP request bodies stopped at the flow's budget of 64 MiB decoded"
                " bytes: what lay past it was searched only as sent")
    ]  # fmt: skip
    assert any("41000 -> 127.0.44.10:80 in segment.pcap: decoding" in r for r in verdict.reasons)
    inspector = inspected(one_segment)
    [flow] = [f for f in inspector.flows if f.budget is not None]
    assert flow.budget.spent == FLOW_DECODED  # 12 x 64 MiB said, 64 MiB decoded


def test_forty_bombs_over_eight_flows_spend_the_capture_budget(forty: Path) -> None:
    analysis, verdict = judged(forty)
    assert verdict.outcome is Outcome.INCONCLUSIVE and not verdict.findings
    notes = spent_notes(analysis)
    assert len(notes) == 8  # every flow named: each stopped at its budget or the capture's
    assert sum("the capture's budget of 128 MiB" in detail for _, detail in notes) == 6
    inspector = inspected(forty)
    assert inspector.budget.spent == inspector.budget.total == CAPTURE_DECODED
    assert all(f.budget is None or f.budget.spent <= FLOW_DECODED for f in inspector.flows)


def test_bombs_inside_a_request_body_draw_on_the_same_budget(tmp_path: Path) -> None:
    path = hostile.write(tmp_path / "inside.pcap", hostile.bombs_inside_a_body(12))
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert [port for port, _ in spent_notes(analysis)] == [41600]
    inspector = inspected(path)
    assert inspector.budget.spent == FLOW_DECODED


def test_bombs_cost_bounded_memory(one_segment: Path, forty: Path) -> None:
    """Peak RSS of a fresh process reading both (on main: about 950 MB for the segment).

    The peak is the process's own VmHWM: getrusage's ru_maxrss keeps the high-water mark
    of the forked copy of pytest from before exec, which is pytest's size, not ours."""
    script = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from tests.analysis.test_budgets import read_both\n"
        "read_both([Path(p) for p in sys.argv[1:]])\n"
        "status = Path('/proc/self/status').read_text()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
    )
    command = [sys.executable, "-c", script, str(one_segment), str(forty)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, check=True
    )
    peak_kib = json.loads(done.stdout.splitlines()[-1])
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib // 1024} MiB"


def read_both(paths: list[Path]) -> None:
    for path in paths:
        inspected(path)


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_a_leak_past_the_flow_budget_is_inconclusive_not_pass(tmp_path: Path, coding: str) -> None:
    path = hostile.write(
        tmp_path / "after.pcap",
        hostile.leak_around_a_bomb(PAST_THE_FLOW_BUDGET, leak_first=False, coding=coding),
    )
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert not analysis.matches
    [(port, detail)] = spent_notes(analysis)
    assert port == 41200 and "the flow's budget of 64 MiB" in detail


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_a_leak_before_the_flow_budget_is_still_found(tmp_path: Path, coding: str) -> None:
    path = hostile.write(
        tmp_path / "before.pcap",
        hostile.leak_around_a_bomb(PAST_THE_FLOW_BUDGET, leak_first=True, coding=coding),
    )
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.FAIL
    imei = [
        f for f in verdict.findings if f.kind == CLEARTEXT_IDENTIFIER and f.identifier == "imei"
    ]
    assert imei and imei[0].encoding == f"{coding}+plain"
    assert any(m.value == IMEI for m in analysis.matches)
    assert spent_notes(analysis)  # and what lay past the budget is said, too


def test_codings_up_to_the_bound_are_all_removed(tmp_path: Path) -> None:
    path = hostile.write(tmp_path / "four.pcap", hostile.leak_under_codings(MAX_CODINGS))
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.FAIL
    assert not spent_notes(analysis)


def test_more_codings_than_the_bound_are_inconclusive(tmp_path: Path) -> None:
    path = hostile.write(tmp_path / "five.pcap", hostile.leak_under_codings(MAX_CODINGS + 1))
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    [(_, detail)] = spent_notes(analysis)
    assert "5 codings, more than 4" in detail


def test_a_large_capture_gets_a_larger_budget() -> None:
    assert DecodeBudget.for_capture(None).total == CAPTURE_DECODED
    assert DecodeBudget.for_capture(1 << 20).total == CAPTURE_DECODED
    assert DecodeBudget.for_capture(1 << 30).total == 16 << 30
