"""What every sign-off test does with a finished cycle: judge it, attach it, log it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benches.cycles import CycleRecord
from benches.gateway.gateway import Gateway
from benches.gateway.geo import GeoDatabase
from benches.inventory.models import Manifest, Rack, Timings
from benches.judge import CycleResult, judge_cycle
from benches.report import attach_cycle
from benches.verdict_log import append_verdict, verdict_log_path


@dataclass(frozen=True)
class Signoff:
    rack: Rack
    manifest: Manifest
    gateway: Gateway
    geo: GeoDatabase
    reports: Path

    @property
    def timings(self) -> Timings:
        return self.rack.bench.timings

    def judge(self, record: CycleRecord) -> CycleResult:
        result = judge_cycle(record, self.rack, self.manifest, self.geo)
        attach_cycle(result)
        append_verdict(verdict_log_path(self.reports, self.manifest.build), result)
        return result
