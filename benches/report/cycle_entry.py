"""What the verdict log keeps about a judged cycle, for the sign-off summary and its charts.

Everything here is for people or their tools: findings as ``Finding.to_dict()``
gives them (values masked), names scrubbed of identifiers, times relative to
the capture window. The one link back to the raw evidence is the pcap's path
and SHA-256. The phone is named by ``device_ref``, a hash that only someone
holding devices.yaml can tie to a phone.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benches.analysis.results import INTERCEPTION_STATES
from benches.cycles import CycleRecord
from benches.policy.findings import REGION_VIOLATION, Finding
from benches.policy.judge import CycleResult

Scrub = Callable[[str | None], str | None]


def device_ref(serial: str) -> str:
    """The verdict log's key for a phone: 16 hex digits of SHA-256("device:<serial>")."""
    return hashlib.sha256(f"device:{serial}".encode()).hexdigest()[:16]


def sha256_file(path: Path) -> str | None:
    """The file's SHA-256 in hex, or None when it cannot be read or is not a plain file.

    A link is not followed: one planted among the pcaps would hash a file outside
    reports/ (or ``/dev/zero``, for ever).
    """
    digest = hashlib.sha256()
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as data:
            if not stat.S_ISREG(os.fstat(data.fileno()).st_mode):
                return None
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def cycle_entry(result: CycleResult) -> dict[str, Any]:
    """The summary's fields of a verdict-log line (the caller adds verdict, pcap, ...)."""
    record = result.record
    health = record.health
    return {
        "device_ref": device_ref(record.serial),
        "attempt": record.attempt,
        "reasons": list(result.verdict.reasons),
        "findings": [finding.to_dict() for finding in result.verdict.findings],
        "placements": {str(packet): where for packet, where in result.placements.items()},
        "pcap_sha256": sha256_file(record.pcap),
        "health": None
        if health is None
        else {
            "packets": health.packets,
            "kernel_drops": health.kernel_drops,
            "died": health.died,
            "error": health.error,
        },
        "console": str(record.console) if record.console else None,
        "power_method": record.power_method,
        **cycle_timeline(result),
        "names": name_maps(result),
        "tls": tls_counts(result),
        "interception": interception_files(record),
    }


def tls_counts(result: CycleResult) -> dict[str, int] | None:
    """The cycle's TLS flows the interceptor opened, left opaque or did not try, and the
    QUIC attempts it blocked; None when the cycle ran without interception."""
    analysis = result.analysis
    if analysis is None or analysis.interception is None:
        return None
    total = dict.fromkeys(INTERCEPTION_STATES, 0)
    for counts in analysis.tls_counts().values():
        for state, number in counts.items():
            total[state] = total.get(state, 0) + number
    return total


def interception_files(record: CycleRecord) -> dict[str, Any] | None:
    """The interceptor's files of the cycle, by path and SHA-256 (the flow file and the
    decrypted messages hold raw identifiers; the key log opens the pcap)."""
    files = record.interception
    if files is None:
        return None
    paths = {"flows": files.flows, "keylog": files.keylog, "messages": files.messages,
             "meta": files.meta}  # fmt: skip
    return {
        **{name: str(path) for name, path in paths.items()},
        **{f"{name}_sha256": sha256_file(path) for name, path in paths.items()},
    }


def cycle_timeline(result: CycleResult) -> dict[str, Any]:
    """The cycle's events and flows, in seconds since the capture window opened."""
    record = result.record
    origin = capture_origin(record)
    flows = []
    if result.analysis is not None:
        scrub = result.analysis.scrubber()
        for flow in result.analysis.flows:
            flows.append(
                {
                    "at": round(flow.first_time - origin, 3) if origin else 0.0,
                    "dst_ip": flow.dst_ip,
                    "dst_port": flow.dst_port,
                    "name": scrub(flow.name),
                    "name_source": flow.name_source,
                    "country": flow.country,
                    "countries": dict(flow.countries),
                    "owner": flow.owner,
                    "packets": flow.packets,
                    "bytes": flow.bytes,
                    "protocol": flow.protocol,
                    "first_packet": flow.first_packet,
                    "interception": flow.interception,
                    "findings": sorted(
                        {f.kind for f in result.verdict.findings if _on_flow(f, flow)}
                    ),
                }
            )
    return {
        "started": origin,
        "events": [{"name": e.name, "at": round(e.wall - origin, 3)} for e in record.timeline],
        "flows": flows,
    }


def capture_origin(record: CycleRecord) -> float:
    """Unix time the capture window opened (its first event), 0.0 without a timeline."""
    for event in record.timeline:
        if event.name == "capture_started":
            return event.wall
    return min((event.wall for event in record.timeline), default=0.0)


def _on_flow(finding: Finding, flow: Any) -> bool:
    if finding.dst_ip != flow.dst_ip:
        return False
    if finding.kind == REGION_VIOLATION:  # one finding per destination address
        return True
    return finding.dst_port == flow.dst_port and (
        flow.first_packet <= finding.packet <= flow.last_packet
    )


def name_maps(result: CycleResult) -> dict[str, dict[str, list[str]]]:
    """Name -> addresses, from DNS answers (names looked up, answered with addresses the
    phone then contacted), TLS SNI and HTTP Host, names scrubbed of identifiers."""
    maps: dict[str, dict[str, set[str]]] = {"dns": {}, "sni": {}, "host": {}}
    analysis = result.analysis
    if analysis is None:
        return {kind: {} for kind in maps}
    scrub = analysis.scrubber()
    for query in analysis.dns_queries:
        _add(maps["dns"], scrub(query.name), None)
    for flow in analysis.flows:
        for name in flow.dns_names:
            _add(maps["dns"], scrub(name), flow.dst_ip)
        _add(maps["sni"], scrub(flow.sni), flow.dst_ip)
        _add(maps["host"], scrub(flow.http_host), flow.dst_ip)
    return {
        kind: {name: sorted(addresses) for name, addresses in sorted(names.items())}
        for kind, names in maps.items()
    }


def _add(names: dict[str, set[str]], name: str | None, address: str | None) -> None:
    if not name:
        return
    addresses = names.setdefault(name, set())
    if address:
        addresses.add(address)
