"""Allure: labels for a sign-off test, and a cycle's evidence as attachments.

Everything people read here is masked; only the attached pcap holds raw bytes.
"""

from __future__ import annotations

import html
import json

import allure
import pytest

from benches.inventory.models import Device, Manifest
from benches.judge import CycleResult


class InconclusiveCycle(Exception):
    """The bench cannot vouch for this cycle; Allure shows it as broken, never passed."""


def label_test(manifest: Manifest, cycle_kind: str, device: Device) -> None:
    allure.dynamic.epic(f"build {manifest.build}")
    allure.dynamic.feature(f"{cycle_kind} cycle")
    allure.dynamic.story(device.model)
    allure.dynamic.parameter("firmware", manifest.path.name)


def attach_cycle(result: CycleResult) -> None:
    record = result.record
    allure.attach.file(
        str(record.pcap),
        name=f"{record.pcap.name}",
        attachment_type=allure.attachment_type.PCAP,
    )
    if result.analysis is not None:
        allure.attach(
            flows_table(result),
            name="flows",
            attachment_type=allure.attachment_type.HTML,
        )
    allure.attach(
        json.dumps(result.verdict.to_dict(), indent=2),
        name="findings",
        attachment_type=allure.attachment_type.JSON,
    )
    allure.attach(
        timeline_text(result), name="timeline", attachment_type=allure.attachment_type.TEXT
    )


def timeline_text(result: CycleResult) -> str:
    record = result.record
    lines = [f"{event.at:8.3f} s  {event.name}" for event in record.timeline]
    if record.health:
        health = record.health
        lines.append(
            f"capture: {health.packets} packets, {health.kernel_drops} dropped by the kernel"
            + (f", died ({health.error})" if health.died else "")
        )
    lines.append(f"canaries: {', '.join(record.canaries)}")
    return "\n".join(lines) + "\n"


def flows_table(result: CycleResult) -> str:
    assert result.analysis is not None
    head = ("#", "protocol", "destination", "name", "via", "country", "owner", "packets", "bytes")
    rows = []
    for flow in result.analysis.flows:
        name = result.analysis.scrub(flow.name) or ""
        cells = (
            flow.first_packet,
            flow.protocol,
            f"{flow.dst_ip}:{flow.dst_port}",
            name,
            flow.name_source or "",
            flow.country or "unknown",
            flow.owner or "",
            flow.packets,
            flow.bytes,
        )
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
    style = (
        "table{border-collapse:collapse;font:13px sans-serif}"
        "td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    return f"<html><style>{style}</style><table>{header}{''.join(rows)}</table></html>"


def enforce_verdict(result: CycleResult) -> None:
    """Pass, fail the test with the findings, or mark it inconclusive (broken)."""
    verdict = result.verdict.verdict
    if verdict == "fail":
        pytest.fail(result.summary(), pytrace=False)
    if verdict == "inconclusive":
        raise InconclusiveCycle(result.summary())
    assert verdict == "pass", f"unknown verdict {verdict!r}"
