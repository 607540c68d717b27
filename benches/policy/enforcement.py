"""What a cycle's verdict does to its sign-off test: pass, fail, or inconclusive.

A fail fails the test with the findings. An inconclusive cycle raises
:class:`InconclusiveCycle`: pytest and Allure report the test as broken, never as
passed; Allure's "Capture blind / inconclusive" category matches the
exception's class name (benches.report.allure.metadata).
"""

from __future__ import annotations

import pytest

from benches.policy.judge import CycleResult
from benches.policy.verdict import Outcome


class InconclusiveCycle(Exception):
    """The bench cannot vouch for this cycle; Allure shows it as broken, never passed."""


def enforce_verdict(result: CycleResult) -> None:
    """Pass, fail the test with the findings, or mark it inconclusive (broken)."""
    outcome = result.verdict.outcome
    if outcome == Outcome.FAIL:
        pytest.fail(result.summary(), pytrace=False)
    if outcome == Outcome.INCONCLUSIVE:
        raise InconclusiveCycle(result.summary())
    assert outcome == Outcome.PASS, f"unknown outcome {outcome!r}"
