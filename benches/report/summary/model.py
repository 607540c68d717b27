"""A build's sign-off summary: its verdict log, collected cells, manifest and rack, as one model.

The rows of the matrix are the rack's phones (masked), the columns every
(cycle kind, index) the run collected or judged, in the order a phone meets
them. A collected cell without a verdict is ``missing``: no result, a bench
fault, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benches.cycles import cycle_rank
from benches.inventory.models import Manifest, Rack
from benches.policy.decision import Decision, decide
from benches.redaction.masks import device_labels
from benches.report.cycle_entry import device_ref
from benches.report.summary.plan import read_plan
from benches.report.verdict_log import (
    read_expected_count,
    read_verdict_log,
    verdict_log_path,
)

MISSING = "missing"
MISSING_TEXT = "no result (bench fault)"


@dataclass(frozen=True)
class PhoneRow:
    slot: int  # 1-based position in devices.yaml
    label: str  # the phone's label: its masked serial (benches.redaction.masks.device_labels)
    model: str
    ref: str  # device_ref, the verdict log's key

    @property
    def title(self) -> str:
        return f"phone {self.slot} · {self.label} · {self.model}"


@dataclass(frozen=True, order=True)
class Column:
    rank: int
    kind: str
    index: int

    @property
    def title(self) -> str:
        return f"{self.kind} {self.index}"


@dataclass
class Cycle:
    """One cell of the matrix: a phone's cycle, with its verdict-log line when it has one."""

    phone: PhoneRow
    column: Column
    entry: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The verdict-log line, or an empty one for a cell without a verdict."""
        return self.entry or {}

    @property
    def verdict(self) -> str:
        return str(self.entry["verdict"]) if self.entry else MISSING

    @property
    def title(self) -> str:
        attempt = int((self.entry or {}).get("attempt") or 1)
        again = f" (attempt {attempt})" if attempt > 1 else ""
        return f"{self.column.kind} cycle {self.column.index}{again} of {self.phone.label}"

    @property
    def pcap_name(self) -> str:
        return Path(str((self.entry or {}).get("pcap") or "")).name


@dataclass
class BuildSummary:
    manifest: Manifest
    rack: Rack
    reports: Path
    decision: Decision
    expected: int
    phones: list[PhoneRow]
    columns: list[Column]
    cycles: dict[tuple[str, str, int], Cycle]  # (device_ref, kind, index) -> cell
    strays: list[dict[str, Any]] = field(default_factory=list)  # lines of no rack phone
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))
    pytest_exit: int = 0

    def cell(self, phone: PhoneRow, column: Column) -> Cycle | None:
        return self.cycles.get((phone.ref, column.kind, column.index))

    def judged(self) -> list[Cycle]:
        """Cycles with a verdict, in matrix order."""
        return [
            cycle
            for phone in self.phones
            for column in self.columns
            if (cycle := self.cell(phone, column)) is not None and cycle.entry is not None
        ]

    @property
    def tested_at(self) -> datetime | None:
        """When the first judged cycle's capture opened."""
        starts = [float(c.data["started"]) for c in self.judged() if c.data.get("started")]
        return datetime.fromtimestamp(min(starts), UTC) if starts else None

    def flows(self) -> list[dict[str, Any]]:
        return [flow for cycle in self.judged() for flow in cycle.data.get("flows") or ()]


def phones_of(rack: Rack) -> list[PhoneRow]:
    """The rack's phones, labelled as everywhere else: masked, unique within the rack."""
    labels = device_labels(device.serial for device in rack.devices)
    return [
        PhoneRow(slot, labels[device.serial].text, device.model, device_ref(device.serial))
        for slot, device in enumerate(rack.devices, start=1)
    ]


def load_summary(
    reports: Path, rack: Rack, manifest: Manifest, pytest_exit: int = 0
) -> BuildSummary:
    build = manifest.build
    lines = read_verdict_log(verdict_log_path(reports, build))
    plan = read_plan(reports, build) or []
    phones = phones_of(rack)
    by_ref = {phone.ref: phone for phone in phones}
    columns: dict[tuple[str, int], Column] = {}
    cycles: dict[tuple[str, str, int], Cycle] = {}

    def column(kind: str, index: int) -> Column:
        return columns.setdefault((kind, index), Column(cycle_rank(kind), kind, index))

    for cell in plan:
        phone = by_ref.get(cell.device_ref)
        if phone is not None:
            key = (cell.device_ref, cell.kind, cell.index)
            cycles[key] = Cycle(phone, column(cell.kind, cell.index))
    strays = []
    for line in lines:
        ref = str(line.get("device_ref") or "")
        phone = by_ref.get(ref)
        if phone is None:
            strays.append(line)
            continue
        kind, index = str(line.get("cycle")), int(line.get("index") or 1)
        cycles[(ref, kind, index)] = Cycle(phone, column(kind, index), line)  # a retry wins
    expected = read_expected_count(reports, build)
    if expected is None:  # the run stopped before collection ended: at least the plan
        expected = max(len(plan), len(rack.devices))
    verdicts = [str(line.get("verdict")) for line in lines]
    return BuildSummary(
        manifest=manifest,
        rack=rack,
        reports=reports,
        decision=decide(verdicts, expected, pytest_exit),
        expected=expected,
        phones=phones,
        columns=sorted(columns.values()),
        cycles=cycles,
        strays=strays,
        pytest_exit=pytest_exit,
    )
