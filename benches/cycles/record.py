"""What a cycle leaves behind: timeline, canaries, capture health, how it powered the phone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from benches.capture.health import CaptureHealth
from benches.capture.interception.files import InterceptionFiles
from benches.inventory.bench_names import CANARY_DOMAIN  # .invalid never resolves (RFC 6761)
from benches.rack.adb.phone import PhoneError
from benches.redaction.masks import device_label

# How a boot cycle restarted the phone (CycleRecord.power_method).
RELAY = "relay"  # a hard power cycle through its relays
ADB_REBOOT = "adb reboot"  # no power relay in devices.yaml


@dataclass(frozen=True)
class Event:
    name: str
    at: float  # seconds since the capture window opened
    wall: float  # Unix time, to place packets on the timeline


@dataclass
class CycleRecord:
    serial: str
    kind: str  # boot, unlock, activation or idle
    index: int  # 1-based within the session
    pcap: Path
    canaries: list[str] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    health: CaptureHealth | None = None
    # How a boot cycle restarted the phone: "relay" (a hard power cycle) or
    # "adb reboot" (no power relay in devices.yaml). None for the other cycles.
    power_method: str | None = None
    attempt: int = 1  # 2 when the cycle is run again after the phone was recovered
    console: Path | None = None  # the UART console recorded during the window
    logcat: Path | None = None  # the phone's log buffer over the window (`logcat -d`)
    # What the TLS interceptor saw in the window (None: no interception in this cycle).
    interception: InterceptionFiles | None = None

    @property
    def label(self) -> str:
        again = f" (attempt {self.attempt})" if self.attempt > 1 else ""
        return f"{self.kind} cycle {self.index}{again} of {device_label(self.serial)}"


class CycleInterrupted(PhoneError):
    """The phone stopped doing what the cycle asked; `record` is the window captured so far.

    Its pcap is evidence like any other: a leak before the phone hung is still a leak.
    """

    def __init__(self, message: str, record: CycleRecord) -> None:
        super().__init__(message)
        self.record = record


def new_canary() -> str:
    return f"c{uuid.uuid4().hex[:16]}.{CANARY_DOMAIN}"
