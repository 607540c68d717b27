"""Allure: labels for a sign-off test, and a cycle's evidence as attachments.

Everything people read here is masked; only the attached pcap holds raw bytes.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import allure

from benches.analysis.attribution.geo import LOCAL
from benches.analysis.interception.reading import tls_text
from benches.analysis.interception.records import (
    Message,
    TlsFailed,
    WebSocketMessage,
    read_records,
)
from benches.cycles import ADB_REBOOT
from benches.cycles.recovery import RecoveryReport
from benches.inventory.models import Device, Manifest
from benches.policy.findings import KINDS as FINDING_KINDS
from benches.policy.judge import CycleResult
from benches.policy.verdict import Outcome
from benches.redaction.masks import device_label
from benches.redaction.printable import printable
from benches.redaction.rack_masker import scrub_text
from benches.report.cycle_entry import cycle_timeline, tls_counts
from benches.report.summary.charts.timeline import timeline_chart
from benches.report.summary.charts.traffic import traffic_bars, traffic_chart
from benches.report.verdict_log import read_verdict_log, verdict_log_path


def label_test(manifest: Manifest, cycle_kind: str, device: Device) -> None:
    allure.dynamic.epic(f"build {manifest.build}")
    allure.dynamic.feature(f"{cycle_kind} cycle")
    allure.dynamic.story(device.model)
    allure.dynamic.parameter("firmware", manifest.path.name)
    # The test's own "phone" parameter is the serial; people read the label.
    allure.dynamic.parameter("phone", device_label(device.serial))


def label_result(result: CycleResult) -> None:
    """Severity blocker for a leak or a region finding; a tag per country the phone contacted."""
    findings = result.verdict.findings
    if result.verdict.outcome == Outcome.FAIL and any(f.kind in FINDING_KINDS for f in findings):
        allure.dynamic.severity(allure.severity_level.BLOCKER)
    for country in countries_contacted(result):
        allure.dynamic.tag(country)


def countries_contacted(result: CycleResult) -> list[str]:
    """Countries of the cycle's flows, the bench's own network left out."""
    flows = result.analysis.flows if result.analysis else ()
    return sorted({flow.country or "unknown country" for flow in flows if flow.country != LOCAL})


def phase_steps(result: CycleResult) -> None:
    """One Allure step per phase of the cycle: from one timeline event to the next."""
    events = result.record.timeline
    for event, following in zip(events, [*events[1:], None], strict=True):
        length = f", {following.at - event.at:.1f} s" if following else ""
        with allure.step(f"{event.at:7.2f} s  {event.name.replace('_', ' ')}{length}"):
            pass


def attach_cycle(result: CycleResult) -> None:
    record = result.record
    phase_steps(result)
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
    allure.attach(
        timeline_chart(
            cycle_timeline(result),
            f"{record.label}: flows against events",
        ),
        name="timeline chart",
        attachment_type=allure.attachment_type.SVG,
    )
    if record.interception is not None:
        attach_interception(result)
    if record.logcat is not None and record.logcat.exists():
        allure.attach.file(
            str(record.logcat), name="logcat", attachment_type=allure.attachment_type.TEXT
        )
    if record.console is not None and record.console.exists():
        allure.attach(
            scrub_text(record.console.read_text(errors="replace")),
            name="serial console",
            attachment_type=allure.attachment_type.TEXT,
        )


def attach_interception(result: CycleResult) -> None:
    """The interceptor's flow file and key log as they are (the flow file holds raw
    identifiers, as the pcap does), and for people a masked list of what it decrypted."""
    files = result.record.interception
    assert files is not None
    for path in (files.flows, files.keylog):
        if path.exists():
            allure.attach.file(str(path), name=path.name, extension=path.suffix.lstrip("."))
    counts = tls_counts(result)
    lines = [tls_text(counts) or "TLS: nothing counted (no analysis)"]
    if files.messages.exists():
        lines += intercepted_lines(files.messages)
    allure.attach(
        scrub_text("\n".join(lines) + "\n"),
        name="inside TLS (masked)",
        attachment_type=allure.attachment_type.TEXT,
    )


MAX_SHOWN = 500  # decrypted messages listed for people per cycle


def intercepted_lines(messages: Path) -> list[str]:
    """One line per decrypted message: "request POST analytics.example/v1 (HTTP/2.0, 62
    bytes)"; bounded, each line escaped (identifiers are masked by the caller)."""
    lines: list[str] = []
    with messages.open("rb") as file:
        for record in read_records(file):
            if len(lines) >= MAX_SHOWN:
                lines.append(f"... (more than {MAX_SHOWN} records: see the flow file)")
                break
            if isinstance(record, Message):
                what = (
                    f"{record.method} {record.host}{record.path}"
                    if record.kind == "request"
                    else f"{record.status}"
                )
                size = f"{len(record.content)} bytes"
                lines.append(f"{record.kind} {what} ({record.http_version}, {size})")
            elif isinstance(record, WebSocketMessage):
                side = "client" if record.from_client else "server"
                lines.append(f"websocket from the {side} ({len(record.content)} bytes)")
            elif isinstance(record, TlsFailed):
                lines.append(f"TLS refused {record.sni or record.server[0]}: {record.error}")
            else:
                lines.append(f"line {record.line}: {record.detail}")
    return [printable(line[:300]) for line in lines]


def attach_build_traffic(reports: Path, manifest: Manifest) -> None:
    """Where the build's traffic went, by country and owner, from its verdict log."""
    lines = read_verdict_log(verdict_log_path(reports, manifest.build))
    flows = [flow for line in lines for flow in line.get("flows") or ()]
    bars = traffic_bars(flows, manifest.policy.allowed_countries)
    title = f"Where the traffic of build {manifest.build} went: bytes by country and owner"
    allure.attach(
        traffic_chart(bars, title),
        name="where the traffic went",
        attachment_type=allure.attachment_type.SVG,
    )


def attach_recovery(report: RecoveryReport) -> None:
    """Every step of the recovery chain, as Allure steps and as one text attachment."""
    for step in report.steps:
        with allure.step(scrub_text(f"recovery of {device_label(report.serial)}: {step.line()}")):
            pass
    allure.attach(
        scrub_text(report.text()), name="recovery", attachment_type=allure.attachment_type.TEXT
    )


def timeline_text(result: CycleResult) -> str:
    record = result.record
    lines = [f"{event.at:8.3f} s  {event.name}" for event in record.timeline]
    if record.power_method == ADB_REBOOT:
        lines.append("power: no relay for this phone in devices.yaml: restarted with adb reboot")
    elif record.power_method:
        lines.append(f"power: restarted by {record.power_method}")
    for finding in result.verdict.findings:
        when = result.when(finding)
        if when:
            lines.append(f"{finding.kind} in packet {finding.packet}: {when}")
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
            f"{flow.dst_ip}:{flow.dst_port}"
            + (f" ({flow.embedded_ipv4.describe()})" if flow.embedded_ipv4 else ""),
            name,
            flow.name_source or "",
            flow.country or "unknown",
            flow.owner or "",
            flow.packets,
            flow.bytes,
        )
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(printable(str(c)))}</td>" for c in cells) + "</tr>"
        )
    header = "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
    style = (
        "table{border-collapse:collapse;font:13px sans-serif}"
        "td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    return f"<html><style>{style}</style><table>{header}{''.join(rows)}</table></html>"
