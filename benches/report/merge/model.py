"""One build across benches: GO only when every bench ran it and said GO.

A bench that did not run the build is "not run there", which makes the build
NO-GO (inconclusive): the question is "is build X GO everywhere?", and a bench
that never saw it cannot say yes. A bench's NO-GO makes it NO-GO, naming the
bench; benches that disagree on the build's fingerprint did not test the same
thing, and that is inconclusive too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benches.cycles import cycle_rank
from benches.policy.decision import GO, NO_GO, NO_GO_INCONCLUSIVE, Decision
from benches.report.merge.inputs import COUNT_FIELDS, BenchResults, BuildResult

NOT_RUN = "not run there"
SCHEMA = "benches.report.merge.merged-summary/1"


@dataclass(frozen=True)
class BenchBuild:
    """What one bench says about one build; ``result`` None when it did not run it."""

    bench: BenchResults
    folder: str  # the bench's folder under benches/ in the merged directory
    result: BuildResult | None

    @property
    def decision(self) -> str:
        return self.result.decision if self.result else NOT_RUN


@dataclass(frozen=True)
class MergedBuild:
    build: str
    benches: tuple[BenchBuild, ...]

    @property
    def ran(self) -> list[BenchBuild]:
        return [b for b in self.benches if b.result is not None]

    @property
    def decision(self) -> Decision:
        reasons = []
        for entry in self.benches:
            if entry.result is None:
                reasons.append(f"not run on bench {entry.bench.name}")
            elif entry.result.decision != GO:
                why = "; ".join(entry.result.reasons) or "no reason recorded"
                reasons.append(f"{entry.result.decision} on bench {entry.bench.name}: {why}")
        fingerprints = {str(b.result.data.get("fingerprint")) for b in self.ran if b.result}
        if len(fingerprints) > 1:
            reasons.append(
                f"the benches tested different fingerprints: {', '.join(sorted(fingerprints))}"
            )
        if not self.ran:
            reasons.append("no bench ran it")
        if any(b.result.decision == NO_GO for b in self.ran if b.result):
            return Decision(NO_GO, tuple(reasons))
        return Decision(NO_GO_INCONCLUSIVE, tuple(reasons)) if reasons else Decision(GO, ())


def merged_builds(benches: Sequence[BenchResults], folders: Sequence[str]) -> list[MergedBuild]:
    """Every build any bench ran, sorted by name, with every bench's word on it."""
    names = sorted({build for bench in benches for build in bench.builds})
    return [
        MergedBuild(
            name,
            tuple(
                BenchBuild(bench, folder, bench.builds.get(name))
                for bench, folder in zip(benches, folders, strict=True)
            ),
        )
        for name in names
    ]


def matrix(build: MergedBuild) -> dict[str, Any]:
    """The bench x phone x cycle matrix: a row per bench's phone, the columns every cycle
    any bench collected; a bench that did not run the build has one row saying so."""
    keys: set[tuple[str, int]] = set()
    for entry in build.ran:
        assert entry.result is not None
        keys.update(_column_keys(entry.result))
    columns = sorted(keys, key=lambda key: (cycle_rank(key[0]), key[0], key[1]))
    rows: list[dict[str, Any]] = []
    for entry in build.benches:
        if entry.result is None:
            rows.append({"bench": entry.bench.name, "decision": NOT_RUN, "phones": []})
            continue
        own = _column_keys(entry.result)
        phones = []
        for row in entry.result.data["matrix"]["rows"]:
            by_key = dict(zip(own, row["cells"], strict=True))
            phones.append(
                {
                    "phone": row.get("phone"),
                    "device": row.get("device"),
                    "model": row.get("model"),
                    "cells": [by_key.get(key) for key in columns],
                }
            )
        rows.append({"bench": entry.bench.name, "decision": entry.decision, "phones": phones})
    return {"columns": [{"cycle": k, "index": i} for k, i in columns], "rows": rows}


def summary_json(build: MergedBuild, generated: str) -> dict[str, Any]:
    decision = build.decision
    counts = {field: 0 for field in COUNT_FIELDS}
    for entry in build.ran:
        assert entry.result is not None
        for field in COUNT_FIELDS:
            counts[field] += entry.result.counts[field]
    return {
        "schema": SCHEMA,
        "build": build.build,
        "decision": decision.label,
        "reasons": list(decision.reasons),
        "generated": generated,
        "identifiers_raw": any(b.result.identifiers_raw for b in build.ran if b.result),
        "counts": counts,
        "benches": [_bench_entry(entry) for entry in build.benches],
        "matrix": matrix(build),
    }


def _bench_entry(entry: BenchBuild) -> dict[str, Any]:
    if entry.result is None:
        return {"bench": entry.bench.name, "decision": NOT_RUN}
    data = entry.result.data
    where = f"benches/{entry.folder}/signoff/{entry.result.build}"
    return {
        "bench": entry.bench.name,
        "decision": entry.result.decision,
        "reasons": entry.result.reasons,
        "counts": entry.result.counts,
        "fingerprint": data.get("fingerprint"),
        "tested_at": data.get("tested_at"),
        "pytest_exit": data.get("pytest_exit"),
        "summary": f"{where}/index.html",
        "evidence": f"{where}/evidence",
        "pcaps": f"benches/{entry.folder}/pcaps/{entry.result.build}",
        "results": str(entry.bench.directory),
    }


def _column_keys(result: BuildResult) -> list[tuple[str, int]]:
    return [
        (str(column.get("cycle")), int(column.get("index") or 1))
        for column in result.data["matrix"]["columns"]
    ]


__all__ = ["GO", "NOT_RUN", "NO_GO", "NO_GO_INCONCLUSIVE", "MergedBuild", "merged_builds"]
