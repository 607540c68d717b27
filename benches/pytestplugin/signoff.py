"""What every sign-off test does: check the phone, run its cycle (recovering it if need be),
judge the capture, attach the evidence, log the verdict.

The cycle's window records the capture, the console and logcat
(benches.cycles.window); this module only judges and reports what it left.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import allure

from benches.analysis.analyzer import detector_for
from benches.analysis.attribution.geo import GeoDatabase
from benches.capture.gateway import Gateway
from benches.cycles import CYCLES, CycleInterrupted, CycleRecord
from benches.cycles.preflight import Preflight
from benches.cycles.recovery import Recovery
from benches.inventory.models import Manifest, Rack, Timings
from benches.policy.enforcement import enforce_verdict
from benches.policy.judge import CycleResult, judge_cycle
from benches.policy.verdict import Outcome
from benches.pytestplugin.interception import refresh_trust
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.health import BenchFault
from benches.rack.session import BenchSession
from benches.report.allure.attachments import (
    attach_cycle,
    attach_recovery,
    label_result,
    label_test,
)
from benches.report.verdict_log import append_verdict, verdict_log_path


@dataclass
class Signoff:
    rack: Rack
    manifest: Manifest
    gateway: Gateway
    geo: GeoDatabase
    reports: Path
    session: BenchSession
    preflight: Preflight = field(init=False)

    def __post_init__(self) -> None:
        self.preflight = Preflight(self.manifest, self.session.health)
        # The rack's detector (a quarter of a second of CPU for 24 phones) is built while the
        # first cycle's phone reboots, not after it, when every worker of a parallel
        # sign-off judges its first window at the same moment.
        threading.Thread(target=_build_detector, args=(self.rack,), daemon=True).start()

    @property
    def timings(self) -> Timings:
        return self.rack.bench.timings

    def run_cycle(self, phone: Phone, kind: str, index: int) -> CycleResult:
        """One cycle of `kind` on `phone`, judged. BenchFault when the bench cannot run it."""
        self.session.health.check(phone.serial)
        self._ready(phone, kind, index)
        interception = self.gateway.interception
        if interception is not None:
            refresh_trust(phone, self.rack, self.manifest, self.reports, interception)
        try:
            return self.judge(self._attempt(phone, kind, index, attempt=1))
        except CycleInterrupted as interrupted:
            return self._after_interruption(phone, interrupted)

    def judge(self, record: CycleRecord, *, final: bool = True) -> CycleResult:
        """Judge and attach a window; only a test's final window goes into the verdict log."""
        result = judge_cycle(record, self.rack, self.manifest, self.geo)
        attach_cycle(result)
        if final:
            self.log_verdict(result)
        return result

    def log_verdict(self, result: CycleResult) -> None:
        append_verdict(
            verdict_log_path(self.reports, self.manifest.build), result, reports=self.reports
        )

    def _ready(self, phone: Phone, kind: str, index: int) -> None:
        """The preflight checks need a phone that answers: recover it first if it does not."""
        try:
            self.preflight.ensure(phone)
        except PhoneError as error:
            if not self._recover(phone, f"before {kind} cycle {index}: {error}"):
                raise BenchFault(self._broken(phone)) from None
            self.preflight.ensure(phone)

    def _attempt(self, phone: Phone, kind: str, index: int, attempt: int) -> CycleRecord:
        run = CYCLES[kind]
        power = self.session.power_of(phone.serial)
        return run(phone, self.gateway, self.timings, index, power, attempt=attempt)

    def _after_interruption(self, phone: Phone, interrupted: CycleInterrupted) -> CycleResult:
        """Judge the interrupted window, recover the phone, then run the cycle once more.

        A leak seen before the phone failed is still a leak: that window's
        verdict stands, and the cycle is not run again.
        """
        record = interrupted.record
        partial = self.judge(record, final=False)
        recovered = self._recover(phone, f"in {record.label}: {interrupted}")
        if partial.verdict.outcome == Outcome.FAIL:
            self.log_verdict(partial)
            return partial
        if not recovered:
            raise BenchFault(self._broken(phone))
        try:
            return self.judge(self._attempt(phone, record.kind, record.index, attempt=2))
        except CycleInterrupted as again:
            second = self.judge(again.record, final=False)
            reason = (
                f"bench fault: {phone.label} failed {again.record.label} after recovery: {again}"
            )
            self.session.health.take_out(phone.serial, reason)
            if second.verdict.outcome == Outcome.FAIL:
                self.log_verdict(second)
                return second
            raise BenchFault(reason) from None

    def _recover(self, phone: Phone, reason: str) -> bool:
        """Trade Federation's chain; a phone it cannot bring back leaves the session."""
        report = Recovery(phone, self.session.power_of(phone.serial), self.timings).recover(reason)
        attach_recovery(report)
        if not report.recovered:
            last = report.steps[-1].detail if report.steps else "no step ran"
            self.session.health.take_out(
                phone.serial,
                f"bench fault: {phone.label} is broken for the rest of the session "
                f"({reason}); recovery tried {len(report.steps)} steps, the last: {last}",
            )
        return report.recovered

    def _broken(self, phone: Phone) -> str:
        return self.session.health.reason(phone.serial) or f"bench fault: {phone.label} is broken"


def _build_detector(rack: Rack) -> None:
    with contextlib.suppress(Exception):  # the judge builds it again, and says what is wrong
        detector_for(rack)


def sign_off_cycle(signoff: Signoff, phone: Phone, kind: str, index: int) -> CycleResult:
    """The body of every sign-off test: label it, run and judge the cycle, enforce the verdict."""
    label_test(signoff.manifest, kind, phone.device)
    with allure.step(f"{kind} cycle {index} of {phone.label}"):
        result = signoff.run_cycle(phone, kind, index)
    label_result(result)
    enforce_verdict(result)
    return result
