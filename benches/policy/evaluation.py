"""What a build's policy says about an analysis: its findings, then its verdict.

Fail closed. A finding is a fail. Without findings, anything that stops the
analysis from covering all of the phone's traffic makes the verdict
inconclusive, with a reason for each: capture problems (kernel drops, a
capture that died), an expected canary lookup that never showed up,
an empty capture or one with no IP packet in it (only ARP, keepalives), a capture
with no IP traffic from a rack phone, unreadable or
truncated packets, frames that are neither IP nor known link control, unreassembled
IP fragments, TCP streams with gaps, and destinations whose country is unknown. Only
then is it a pass.

Only the rack phones' flows are judged (``Flow.judged``): another host's flow
on the same wire breaks no rule and leaves no gap. One exception, failing
closed: a rack phone's own identifier is a finding in whatever flow it shows
up, since a phone at an address nobody told the bench about is still the phone.

A name counts for the host rule and for ``identifier_recipients`` only when
the phone's own DNS answers tie it to the address, or it is the bench's own
(``Flow.checked_names``); an SNI or Host the firmware merely claims does not.

Name suffixes match a name equal to the suffix or ending in "." + suffix.
The policy never reads files: the caller hands it the analysis and health.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from benches.analysis.attribution.geo import Place, ruling_country
from benches.analysis.detection.masks import mask_value
from benches.analysis.protocols.notes import BLINDING, BLINDING_WITH_HOSTS, TLS_OPAQUE
from benches.analysis.results import Analysis, Flow, Match
from benches.capture.health import CaptureHealth
from benches.inventory.models import Policy
from benches.policy.findings import (
    CLEARTEXT_IDENTIFIER,
    HOST_VIOLATION,
    IDENTIFIER_LEAK,
    REGION_VIOLATION,
    Finding,
)
from benches.policy.verdict import Outcome, Verdict
from benches.redaction.masks import device_label


def evaluate(
    analysis: Analysis,
    policy: Policy,
    *,
    health: Sequence[CaptureHealth] = (),
    expected_canaries: Sequence[str] = (),
) -> Verdict:
    findings = [
        *_identifier_findings(analysis, policy),
        *_region_findings(analysis, policy),
        *_host_findings(analysis, policy),
    ]
    reasons = _reasons(analysis, health, expected_canaries)
    reasons += _blind_spots(analysis, policy)
    if findings:
        outcome = Outcome.FAIL
    elif reasons:
        outcome = Outcome.INCONCLUSIVE
    else:
        outcome = Outcome.PASS
    return Verdict(outcome, tuple(findings), tuple(reasons))


def suffix_match(name: str, suffixes: Iterable[str]) -> bool:
    """Whether ``name`` equals a suffix or ends with "." + suffix (case-insensitive)."""
    name = name.lower().rstrip(".")
    for suffix in suffixes:
        suffix = suffix.lower().strip(".")
        if suffix and (name == suffix or name.endswith("." + suffix)):
            return True
    return False


# --- findings ----------------------------------------------------------


def _identifier_findings(analysis: Analysis, policy: Policy) -> list[Finding]:
    grouped: dict[tuple[Any, ...], list[Match]] = {}
    for match in analysis.matches:
        if not match.flow.judged and (match.device is None or match.identifier == "location"):
            continue  # the bench's location in another host's traffic is not a phone's leak
        kind = _identifier_kind(match, policy)
        if kind is None:
            continue
        # One finding per identifier per flow; a location is one finding per flow
        # however many coordinates the flow carried.
        value = None if match.identifier == "location" else match.value
        key = (kind, match.flow.id, match.device, match.identifier, value, match.encoding)
        grouped.setdefault(key, []).append(match)
    findings = []
    for (kind, *_), matches in grouped.items():
        first = min(matches, key=lambda m: m.packet)
        findings.append(
            _finding(
                analysis,
                kind,
                first.flow,
                device=first.device,
                identifier=first.identifier,
                value=mask_value(first.identifier, first.value),
                encoding=first.encoding,
                packet=first.packet,
                evidence=first.evidence,
                occurrences=len(matches),
                form=first.form,
            )
        )
    return sorted(findings, key=lambda f: (f.pcap, f.packet, f.kind))


def _identifier_kind(match: Match, policy: Policy) -> str | None:
    if match.cleartext:
        return CLEARTEXT_IDENTIFIER
    return None if _named(match.flow, policy.identifier_recipients) else IDENTIFIER_LEAK


def _named(flow: Flow, suffixes: Sequence[str]) -> bool:
    """A TLS flow whose names all match ``suffixes``, one of them one the phone resolved
    (not only one it claims)."""
    return (
        flow.tls and bool(flow.checked_names) and all(suffix_match(n, suffixes) for n in flow.names)
    )


def _region_findings(analysis: Analysis, policy: Policy) -> list[Finding]:
    findings = []
    seen = set()
    ruling: dict[tuple[str | None, ...], str | None] = {}  # tens of thousands of flows, few places
    for flow in analysis.flows:
        if flow.local or not flow.judged:
            continue
        signals = (flow.country, *flow.countries.keys(), *flow.countries.values())
        if signals not in ruling:
            ruling[signals] = _ruling_country(flow, policy)
        country = ruling[signals]
        if country is None or country in policy.allowed_countries:
            continue
        if (flow.pcap, flow.dst_ip) in seen:
            continue
        seen.add((flow.pcap, flow.dst_ip))
        evidence = (
            f"{flow.protocol} {flow.client_ip}:{flow.client_port} -> {flow.dst_ip}:{flow.dst_port}"
        )
        if flow.embedded_ipv4 is not None:
            evidence += f" ({flow.embedded_ipv4.describe()}, {flow.embedded_ipv4.prefix})"
        place = _place(flow)
        if place.disagreement:
            evidence += f"; geo signals disagree: {place.describe()}"
        found = _finding(analysis, REGION_VIOLATION, flow, evidence=evidence)
        findings.append(replace(found, country=country))
    return findings


def _place(flow: Flow) -> Place:
    return Place(flow.country, flow.owner, flow.geo_source, dict(flow.countries))


def _ruling_country(flow: Flow, policy: Policy) -> str | None:
    """When the geo signals disagree, the one the policy does not allow rules."""
    return ruling_country(_place(flow), policy.allowed_countries)


def _host_findings(analysis: Analysis, policy: Policy) -> list[Finding]:
    if not policy.allowed_hosts:
        return []
    findings = []
    seen = set()
    for flow in analysis.flows:
        if flow.local or not flow.judged:
            continue
        # Every name the flow claims must be allowed, and one the phone's DNS ties to the
        # address must be there: a claim can fail a flow, never vouch for it.
        checked = flow.checked_names
        outside = [n for n in flow.names if not suffix_match(n, policy.allowed_hosts)]
        if checked and not outside:
            continue
        key = (flow.pcap, flow.dst_ip, tuple(outside), flow.claimed_names)
        if key in seen:
            continue
        seen.add(key)
        unresolved = (
            f"claims {', '.join(flow.claimed_names)}, not resolved to this address"
            if flow.claimed_names
            else ""
        )
        if checked:
            said = "claims " + ", ".join(outside) + (f" (and {unresolved})" if unresolved else "")
        else:
            said = f"no name ({unresolved or 'no DNS answer, SNI or Host for this address'})"
        evidence = f"{flow.protocol} to {flow.dst_ip}:{flow.dst_port}: {said}"
        findings.append(
            _finding(analysis, HOST_VIOLATION, flow, evidence=analysis.scrub(evidence) or "")
        )
    return findings


def _finding(
    analysis: Analysis,
    kind: str,
    flow: Flow,
    *,
    device: str | None = None,
    identifier: str | None = None,
    value: str | None = None,
    encoding: str | None = None,
    packet: int | None = None,
    evidence: str = "",
    occurrences: int = 1,
    form: str | None = None,
) -> Finding:
    return Finding(
        kind=kind,
        device=_label(device if device is not None else flow.device),
        identifier=identifier,
        value=value,
        encoding=encoding,
        dst_ip=flow.dst_ip,
        dst_port=flow.dst_port,
        dst_host=analysis.scrub(flow.name),
        country=flow.country,
        owner=flow.owner,
        protocol=flow.protocol,
        packet=packet if packet is not None else flow.first_packet,
        pcap=flow.pcap,
        evidence=evidence,
        occurrences=occurrences,
        form=form,
        dst_embedded_ipv4=flow.embedded_ipv4.address if flow.embedded_ipv4 else None,
        dst_embedding=flow.embedded_ipv4.kind if flow.embedded_ipv4 else None,
    )


def _label(serial: str | None) -> str | None:
    """The analysis knows phones by serial; a finding is for people: it names the label."""
    return device_label(serial) if serial is not None else None


# --- reasons -----------------------------------------------------------


def _blind_spots(analysis: Analysis, policy: Policy) -> list[str]:
    """A reason per flow note that leaves part of the flow unread (see
    :mod:`benches.analysis.protocols.notes`): a budget spent always, a QUIC version the
    bench cannot read when the policy names the hosts a phone may reach."""
    blinding = BLINDING | (BLINDING_WITH_HOSTS if policy.allowed_hosts else frozenset())
    reasons = []
    for flow in analysis.flows:
        if not flow.judged:
            continue
        for note in flow.notes:
            if note.kind in blinding or (note.kind == TLS_OPAQUE and _opaque_matters(flow, policy)):
                where = (
                    f"{flow.proto} {flow.client_ip}:{flow.client_port}"
                    f" -> {flow.dst_ip}:{flow.dst_port}"
                )
                detail = analysis.scrub(note.detail) or ""
                reasons.append(f"{where} in {PurePath(flow.pcap).name}: {detail}")
    return list(dict.fromkeys(reasons))


def _opaque_matters(flow: Flow, policy: Policy) -> bool:
    """A TLS flow the interceptor could not open hides what it carried, unless its host
    may receive identifiers anyway, or the manifest lists it as known to pin."""
    return not (_named(flow, policy.identifier_recipients) or _named(flow, policy.opaque_hosts))


def _reasons(
    analysis: Analysis,
    health: Sequence[CaptureHealth],
    expected_canaries: Sequence[str],
) -> list[str]:
    reasons = [problem for h in health for problem in h.problems]
    if analysis.interception is not None:
        reasons += [analysis.scrub(p) or "" for p in analysis.interception.problems]
    seen = {q.name.lower().rstrip(".") for q in analysis.dns_queries}
    for canary in expected_canaries:
        if canary.lower().rstrip(".") not in seen:
            reasons.append(f"canary lookup {canary} not seen in the capture")
    judged = {flow.pcap for flow in analysis.flows if flow.judged}
    for capture in analysis.captures:
        name = PurePath(capture.pcap).name
        if not capture.packets:
            reasons.append(f"no packets in {name}: nothing to back a pass")
        if capture.unreadable:
            reasons.append(f"{capture.unreadable} unreadable packets in {name}")
        if capture.truncated:
            reasons.append(f"{capture.truncated} packets in {name} captured shorter than sent")
        if capture.stopped:
            reasons.append(capture.stopped)
        if capture.fragments:
            reasons.append(f"{capture.fragments} IP fragments in {name} not reassembled")
        for kind, count in sorted(capture.unknown_frames.items()):
            reasons.append(f"{count} frames of {kind} in {name} could not be read as IP")
        if capture.packets and capture.ip_packets == 0:
            reasons.append(
                f"no IP packets in {name} ({capture.non_ip} link-control frames):"
                " nothing to back a pass"
            )
        elif capture.packets and capture.pcap not in judged:
            reasons.append(f"no IP traffic from a rack phone in {name}: nothing to back a pass")
    for flow in analysis.flows:
        if flow.gaps and flow.judged:
            reasons.append(
                f"TCP stream {flow.client_ip}:{flow.client_port} -> {flow.dst_ip}:{flow.dst_port}"
                f" in {PurePath(flow.pcap).name} has {flow.gaps} gap(s): bytes never captured"
            )
    unknown: dict[str, Flow] = {}
    for flow in analysis.flows:
        if flow.judged and not flow.local and flow.country is None:
            unknown.setdefault(flow.dst_ip, flow)
    for ip, flow in unknown.items():
        host = analysis.scrub(flow.name)
        if flow.embedded_ipv4 is not None:
            ip += f", {flow.embedded_ipv4.describe()}"
        label = f"{host} ({ip})" if host else ip
        reasons.append(f"country of {label} unknown to the geo database")
    return reasons
