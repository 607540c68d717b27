"""GO, NO-GO or NO-GO (inconclusive): the one rule for a build, used by every caller.

Fail closed. A build is GO only when every collected sign-off cycle has a
verdict, every verdict is a pass, at least one cycle was judged, and the test
session ended cleanly. A single fail is NO-GO. Anything else that stops the
bench from vouching for the build (an inconclusive cycle, a missing verdict,
a session that ended badly) is NO-GO (inconclusive), never GO.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from benches.policy.verdict import Outcome

GO = "GO"
NO_GO = "NO-GO"
NO_GO_INCONCLUSIVE = "NO-GO (inconclusive)"


@dataclass(frozen=True)
class Decision:
    label: str  # GO, NO-GO or NO-GO (inconclusive)
    reasons: tuple[str, ...]  # why it is not GO; empty for GO

    @property
    def go(self) -> bool:
        return self.label == GO


def decide(
    verdicts: Mapping[str, int] | Iterable[str], expected: int, pytest_exit: int = 0
) -> Decision:
    """The build's decision from its cycles' verdicts and how many cycles were collected.

    ``verdicts`` is a count per verdict or the verdicts themselves; a verdict
    that is not pass, fail or inconclusive counts as inconclusive.
    """
    counts = Counter(verdicts)  # copies a mapping's counts, counts an iterable's items
    judged = sum(counts.values())
    unknown = judged - sum(counts[outcome] for outcome in Outcome)
    failed = counts[Outcome.FAIL]
    inconclusive = counts[Outcome.INCONCLUSIVE] + unknown
    reasons = []
    if failed:
        reasons.append(f"{_cycles(failed)} leaked or broke the policy")
    if inconclusive:
        reasons.append(f"{_cycles(inconclusive)} inconclusive: the bench could not see it all")
    if judged < expected:
        missing = expected - judged
        reasons.append(
            f"{missing} of {expected} collected {_plural(expected, 'cycle')} "
            f"{'has' if missing == 1 else 'have'} no verdict (bench fault)"
        )
    if judged == 0:
        reasons.append("no cycle was judged")
    if pytest_exit and not failed:
        reasons.append(f"the test session ended with exit code {pytest_exit}")
    if failed:
        return Decision(NO_GO, tuple(reasons))
    if reasons:
        return Decision(NO_GO_INCONCLUSIVE, tuple(reasons))
    return Decision(GO, ())


def _cycles(count: int) -> str:
    return f"{count} {_plural(count, 'cycle')}"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"
