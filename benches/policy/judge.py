"""From a finished cycle to its verdict: the analyzer on its pcap, then the manifest's policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.interception.reading import Intercepted
from benches.analysis.pcap.files import CaptureError
from benches.analysis.pcap.timestamps import packet_times
from benches.analysis.results import Analysis
from benches.cycles import CycleRecord
from benches.cycles.timeline import place
from benches.inventory.models import Manifest, Rack
from benches.policy.evaluation import evaluate
from benches.policy.findings import Finding
from benches.policy.verdict import Outcome, Verdict
from benches.redaction.printable import printable


@dataclass(frozen=True)
class CycleResult:
    record: CycleRecord
    verdict: Verdict
    analysis: Analysis | None  # None when the pcap could not be read at all
    # Where each finding's packet falls on the cycle's timeline: {packet: "2.1 s after unlock"}
    placements: dict[int, str] = field(default_factory=dict)

    def when(self, finding: Finding) -> str | None:
        return self.placements.get(finding.packet)

    def summary(self) -> str:
        """What a QA engineer reads in the failure: one line per finding or reason."""
        label = self.record.label
        lines = [
            f"{finding.message()}{_bracketed(self.when(finding))} in {label}"
            for finding in self.verdict.findings
        ]
        lines += [f"{printable(reason)} in {label}" for reason in self.verdict.reasons]
        return "\n".join(lines) or f"{label}: {self.verdict.outcome}"


def judge_cycle(
    record: CycleRecord, rack: Rack, manifest: Manifest, geo: GeoDatabase
) -> CycleResult:
    health = [record.health] if record.health else []
    files = record.interception
    intercepted = [Intercepted(files.messages, files.meta)] if files is not None else []
    try:
        analysis = analyze([record.pcap], rack, geo, interception=intercepted)
    except CaptureError as error:
        problems = [p for h in health for p in h.problems]
        reasons = (f"pcap unreadable: {error}", *problems)
        return CycleResult(record, Verdict(Outcome.INCONCLUSIVE, (), reasons), None)
    verdict = evaluate(analysis, manifest.policy, health=health, expected_canaries=record.canaries)
    return CycleResult(record, verdict, analysis, _placements(record, verdict))


def _placements(record: CycleRecord, verdict: Verdict) -> dict[int, str]:
    frames = {finding.packet for finding in verdict.findings}
    times = packet_times(record.pcap, frames)
    placed = {frame: place(time, record.timeline) for frame, time in times.items()}
    return {frame: where for frame, where in placed.items() if where}


def _bracketed(text: str | None) -> str:
    return f" ({text})" if text else ""
