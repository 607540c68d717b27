"""The one GO / NO-GO rule: a fail is NO-GO; anything the bench cannot vouch for is
NO-GO (inconclusive); GO needs every collected cycle judged and passed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benches.cli.signoff import BuildOutcome
from benches.inventory.models import Manifest
from benches.policy.decision import GO, NO_GO, NO_GO_INCONCLUSIVE, decide
from tests.support.pcaps import make_policy


def test_every_collected_cycle_passed_is_go() -> None:
    decision = decide(["pass", "pass", "pass"], expected=3)
    assert decision.label == GO and decision.go
    assert decision.reasons == ()


def test_one_fail_among_passes_is_no_go() -> None:
    decision = decide(["pass", "fail", "pass"], expected=3)
    assert decision.label == NO_GO and not decision.go
    assert decision.reasons == ("1 cycle leaked or broke the policy",)


def test_a_fail_wins_over_inconclusive_and_missing_but_all_reasons_stay() -> None:
    decision = decide(["fail", "inconclusive"], expected=4, pytest_exit=1)
    assert decision.label == NO_GO
    assert decision.reasons == (
        "1 cycle leaked or broke the policy",
        "1 cycle inconclusive: the bench could not see it all",
        "2 of 4 collected cycles have no verdict (bench fault)",
    )


def test_an_inconclusive_cycle_is_never_go() -> None:
    decision = decide(["pass", "inconclusive", "pass"], expected=3)
    assert decision.label == NO_GO_INCONCLUSIVE
    assert "1 cycle inconclusive" in decision.reasons[0]


@pytest.mark.parametrize(("judged", "expected"), [(2, 3), (0, 12)])
def test_fewer_verdicts_than_collected_tests_is_inconclusive(judged: int, expected: int) -> None:
    decision = decide(["pass"] * judged, expected=expected)
    assert decision.label == NO_GO_INCONCLUSIVE
    missing = expected - judged
    assert f"{missing} of {expected} collected cycles" in " ".join(decision.reasons)


def test_nothing_judged_is_not_go_even_when_nothing_was_expected() -> None:
    decision = decide([], expected=0)
    assert decision.label == NO_GO_INCONCLUSIVE
    assert decision.reasons == ("no cycle was judged",)


def test_a_session_that_ended_badly_is_not_go() -> None:
    decision = decide(["pass", "pass"], expected=2, pytest_exit=3)
    assert decision.label == NO_GO_INCONCLUSIVE
    assert decision.reasons == ("the test session ended with exit code 3",)


def test_an_unknown_verdict_counts_as_inconclusive() -> None:
    assert decide(["pass", "maybe"], expected=2).label == NO_GO_INCONCLUSIVE


def test_counts_and_verdict_lists_decide_alike() -> None:
    verdicts = ["pass", "fail", "pass", "inconclusive"]
    assert decide(Counter(verdicts), 5) == decide(verdicts, 5)


@pytest.mark.parametrize(
    ("verdicts", "expected", "exit_code", "label"),
    [
        ({"pass": 3}, 3, 0, GO),
        ({"pass": 2, "fail": 1}, 3, 1, NO_GO),
        ({"pass": 2}, 3, 1, NO_GO_INCONCLUSIVE),
        ({"pass": 2, "inconclusive": 1}, 3, 1, NO_GO_INCONCLUSIVE),
    ],
)
def test_bench_signoff_uses_the_same_rule(
    verdicts: dict[str, int], expected: int, exit_code: int, label: str
) -> None:
    manifest = Manifest(Path("m.yaml"), "B1", "fp", "global", make_policy())
    outcome = BuildOutcome(manifest, exit_code, Counter(verdicts), expected)
    assert outcome.decision == label == decide(verdicts, expected, exit_code).label
