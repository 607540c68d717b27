"""From capture files to what the phone did: destinations, identifiers, DNS lookups.

``analyze`` reads each pcap once, groups its packets into flows, names every
destination, places it (country, owner) and searches both directions of every
flow that carried data for the rack's identifiers and the bench's location.
It never talks to a phone and never judges: the policy does that.

How a destination gets its name: see :mod:`benches.gateway.naming`. The
result types live in :mod:`benches.gateway.results` and are importable from here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from benches.gateway import flows as flowmod
from benches.gateway.geo import GeoDatabase
from benches.gateway.identifiers import (
    IdentifierPattern,
    find_identifiers,
    find_locations,
    identifier_patterns,
)
from benches.gateway.masking import mask_value, masked_evidence
from benches.gateway.naming import Answer, attribute, canonical, collect_dns, name_only
from benches.gateway.pcapread import PcapFile, read_packets
from benches.gateway.results import Analysis, CaptureStats, DnsQuery, Flow, Match
from benches.inventory.models import Rack

__all__ = ["Analysis", "CaptureStats", "DnsQuery", "Flow", "Match", "analyze", "mask_value"]


def analyze(pcaps: Sequence[Path], rack: Rack, geo: GeoDatabase) -> Analysis:
    """Read every capture and describe its flows, identifier matches and DNS lookups.

    Raises CaptureError (before reading any packet) if a file is unusable.
    """
    files = _open_all(pcaps)  # fail fast on a bad file, before the slow part
    analysis = Analysis(pcaps=tuple(str(p) for p in pcaps), patterns=identifier_patterns(rack))
    devices = {
        canonical(address): d.serial for d in rack.devices for address in d.network.addresses
    }
    raw_flows: list[flowmod.Flow] = []
    for capture in files:
        raw_flows.extend(_read(capture, analysis, devices.keys()))
    answers, dns_flows = collect_dns(raw_flows, analysis)
    for index, raw in enumerate(raw_flows):
        flow = _describe(index, raw, index in dns_flows, answers, geo, devices)
        analysis.flows.append(flow)
        analysis.matches.extend(_matches(flow, raw, analysis.patterns, rack))
    return analysis


# --- reading ---------------------------------------------------------------


def _open_all(pcaps: Sequence[Path]) -> list[PcapFile]:
    files: list[PcapFile] = []
    try:
        for path in pcaps:
            files.append(read_packets(path))
    except BaseException:
        for capture in files:
            capture.close()
        raise
    return files


def _read(capture: PcapFile, analysis: Analysis, phones: Collection[str]) -> list[flowmod.Flow]:
    table = flowmod.FlowTable(str(capture.path), phones)
    with capture:
        for frame, time, packet in capture:
            table.add(frame, time, packet)
    stats, counters = capture.stats, table.counters
    analysis.captures.append(
        CaptureStats(
            pcap=str(capture.path),
            packets=stats.records,
            unreadable=stats.unreadable + counters.unreadable,
            truncated=stats.truncated,
            fragments=counters.fragments,
            non_ip=counters.non_ip,
        )
    )
    return table.flows()


# --- describing a flow ----------------------------------------------------


def _describe(
    index: int,
    raw: flowmod.Flow,
    is_dns: bool,
    answers: dict[str, list[Answer]],
    geo: GeoDatabase,
    devices: dict[str, str],
) -> Flow:
    sni = name_only(raw.sni)
    host = name_only(raw.http_host)
    known = answers.get(canonical(raw.server_ip), [])
    name, source = attribute(known, (sni, host), raw.first_time)
    place = geo.lookup(raw.server_ip)
    return Flow(
        id=index,
        pcap=raw.pcap,
        proto=raw.proto,
        protocol=_protocol(raw, is_dns),
        client_ip=raw.client_ip,
        client_port=raw.client_port,
        dst_ip=raw.server_ip,
        dst_port=raw.server_port,
        device=devices.get(canonical(raw.client_ip)),
        name=name,
        name_source=source,
        name_resolved=source == "dns",
        dns_names=tuple(dict.fromkeys(a.name for a in known)),
        sni=sni,
        http_host=host,
        tls=raw.tls,
        country=place.country,
        owner=place.owner,
        geo_source=place.source,
        packets=raw.packets,
        bytes=raw.bytes,
        bytes_to_server=len(raw.to_server),
        bytes_to_client=len(raw.to_client),
        first_packet=raw.first_frame,
        last_packet=raw.last_frame,
        first_time=raw.first_time,
        last_time=raw.last_time,
        gaps=raw.gaps,
    )


def _protocol(raw: flowmod.Flow, is_dns: bool) -> str:
    if raw.tls:
        return "tls"
    if raw.http is not None:
        return "http"
    if is_dns:
        return "dns"
    return raw.proto


# --- matching -------------------------------------------------------------


def _matches(
    flow: Flow, raw: flowmod.Flow, patterns: Sequence[IdentifierPattern], rack: Rack
) -> list[Match]:
    found: list[Match] = []
    for direction, stream in raw.streams():
        for offset, chunk in stream.chunks():
            hits = find_identifiers(chunk, patterns)
            hits += find_locations(chunk, rack.bench.location)
            for hit in hits:
                found.append(
                    Match(
                        flow=flow,
                        device=hit.device if hit.device is not None else flow.device,
                        identifier=hit.kind,
                        value=hit.value,
                        encoding=hit.encoding,
                        direction=direction,
                        packet=stream.frame_at(offset + hit.start),
                        offset=offset + hit.start,
                        evidence=masked_evidence(chunk, hit, hits),
                        cleartext=not stream.decrypted,
                    )
                )
    return found
