"""A verdict: its outcome (pass, fail or inconclusive), the findings and the reasons behind it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from benches.policy.findings import Finding


class Outcome(StrEnum):
    """What a verdict says. A StrEnum: it is its value wherever it is written (JSON, the
    verdict log, f-strings) and equals it, so a verdict read back from a log compares too."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    findings: tuple[Finding, ...]
    reasons: tuple[str, ...]  # why the analysis cannot back a pass (kept on a fail too)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.outcome.value,
            "reasons": list(self.reasons),
            "findings": [f.to_dict() for f in self.findings],
        }
