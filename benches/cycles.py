"""Cycles: one scripted event sequence on one phone, inside one capture window.

A cycle drives the phone and records a timeline; it does not judge. The
verdict comes from the analyzer and the policy, on the pcap it leaves behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benches.gateway.gateway import Gateway
from benches.gateway.health import CaptureHealth
from benches.inventory.models import Timings
from benches.phone import Phone

CANARY_DOMAIN = "canary.bench.invalid"  # .invalid never resolves on the internet (RFC 6761)


@dataclass(frozen=True)
class Event:
    name: str
    at: float  # seconds since the capture window opened
    wall: float  # Unix time, to place packets on the timeline


@dataclass
class CycleRecord:
    serial: str
    kind: str  # boot, later unlock / activation / idle
    index: int  # 1-based within the session
    pcap: Path
    canaries: list[str] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    health: CaptureHealth | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} cycle {self.index} of {self.serial}"


def new_canary() -> str:
    return f"c{uuid.uuid4().hex[:16]}.{CANARY_DOMAIN}"


def run_boot_cycle(phone: Phone, gateway: Gateway, timings: Timings, index: int) -> CycleRecord:
    """Reboot `phone` inside a capture window bracketed by two canary lookups."""
    capture = gateway.capture(phone.device, f"boot-{index}")
    record = CycleRecord(phone.serial, "boot", index, capture.pcap)
    opened = time.monotonic()

    def event(name: str) -> None:
        record.timeline.append(Event(name, round(time.monotonic() - opened, 3), time.time()))

    capture.start()
    event("capture_started")
    try:
        _canary(phone, record, event)
        event("reboot")
        phone.reboot()
        phone.wait_for_boot(timings.boot_timeout_s, event)
        time.sleep(timings.settle_s)  # apps act on BOOT_COMPLETED: give them the window
        _canary(phone, record, event)
    finally:
        record.health = capture.stop()
        event("capture_stopped")
    return record


def _canary(phone: Phone, record: CycleRecord, event: Callable[[str], None]) -> None:
    name = new_canary()
    record.canaries.append(name)
    event("canary")
    phone.lookup(name)
