"""From capture files to what the phone did: destinations, identifiers, DNS lookups.

``analyze`` streams each pcap once: records (:mod:`~benches.gateway.pcapread`)
→ IP packets from raw bytes (:mod:`~benches.gateway.packets`, fragments through
:mod:`~benches.gateway.defrag`) → flows (:mod:`~benches.gateway.flows`, TCP
put in order by :mod:`~benches.gateway.tcp`) → each direction's bytes, as they
become contiguous, to the inspection (:mod:`~benches.gateway.inspection`):
every byte searched for the rack's identifiers and the bench's location, and
DNS, TLS, HTTP and QUIC read for names. Only then, with every DNS answer
known, is each destination named and placed (country, owner).

It never talks to a phone and never judges: the policy does that. The result
types live in :mod:`benches.gateway.results` and are importable from here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import cast

from benches.gateway import flows as flowmod
from benches.gateway.detector import Detector
from benches.gateway.geo import GeoDatabase, Place
from benches.gateway.inspection import HTTP_BODY, FlowInspection, Inspector, RawMatch
from benches.gateway.masking import mask_value
from benches.gateway.naming import Known, attribute, canonical, name_only
from benches.gateway.pcapread import PcapFile, read_packets
from benches.gateway.readers import Facts
from benches.gateway.reading import read_flows
from benches.gateway.results import Analysis, CaptureStats, DnsQuery, Flow, Match
from benches.inventory.models import Rack

__all__ = ["Analysis", "CaptureStats", "DnsQuery", "Flow", "Match", "analyze", "mask_value"]


def analyze(pcaps: Sequence[Path], rack: Rack, geo: GeoDatabase) -> Analysis:
    """Read every capture and describe its flows, identifier matches and DNS lookups.

    Raises CaptureError (before reading any packet) if a file is unusable.
    """
    files = _open_all(pcaps)  # fail fast on a bad file, before the slow part
    detector = Detector(rack)
    analysis = Analysis(
        pcaps=tuple(str(p) for p in pcaps), patterns=detector.patterns, detector=detector
    )
    inspector = Inspector(detector)
    devices = {
        canonical(address): d.serial for d in rack.devices for address in d.network.addresses
    }
    raw_flows: list[flowmod.Flow] = []
    for capture in files:
        raw_flows.extend(_read(capture, inspector, analysis, devices.keys()))
    inspector.search_datagrams()
    analysis.dns_queries = inspector.dns.sorted_queries()
    places = _Places(geo)
    ids: dict[int, Flow] = {}
    for index, raw in enumerate(raw_flows):
        flow = _describe(index, raw, inspector.dns.answers, places, devices)
        analysis.flows.append(flow)
        ids[_inspection(raw).index] = flow
    analysis.matches.extend(_matches(inspector.matches, ids))
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


def _read(
    capture: PcapFile, inspector: Inspector, analysis: Analysis, phones: Collection[str]
) -> list[flowmod.Flow]:
    flows, counts = read_flows(capture, inspector, phones)
    analysis.captures.append(counts)
    return flows


# --- describing a flow ----------------------------------------------------


def _inspection(raw: flowmod.Flow) -> FlowInspection:
    return cast(FlowInspection, raw.sink)  # the table's flows were opened by the Inspector


def _describe(
    index: int,
    raw: flowmod.Flow,
    answers: dict[str, Known],
    places: _Places,
    devices: dict[str, str],
) -> Flow:
    info = raw.info
    inspection = _inspection(raw)
    facts = inspection.facts
    hello = facts.client_hello
    sni = name_only(hello.sni if hello is not None else facts.quic_sni)
    host = name_only(facts.http.host if facts.http is not None else None)
    known = answers.get(canonical(info.server_ip))
    name, source = attribute(known, (sni, host), raw.first_time)
    place = places.lookup(info.server_ip)
    return Flow(
        id=index,
        pcap=info.pcap,
        proto=info.proto,
        protocol=_protocol(info.proto, facts),
        client_ip=info.client_ip,
        client_port=info.client_port,
        dst_ip=info.server_ip,
        dst_port=info.server_port,
        device=devices.get(canonical(info.client_ip)),
        name=name,
        name_source=source,
        name_resolved=source == "dns",
        dns_names=known.names if known is not None else (),
        sni=sni,
        http_host=host,
        tls=hello is not None or facts.quic,
        country=place.country,
        owner=place.owner,
        geo_source=place.source,
        countries=dict(place.countries),
        packets=raw.packets,
        bytes=raw.bytes,
        bytes_to_server=inspection.to_server.bytes,
        bytes_to_client=inspection.to_client.bytes,
        first_packet=raw.first_frame,
        last_packet=raw.last_frame,
        first_time=raw.first_time,
        last_time=raw.last_time,
        gaps=raw.gaps,
    )


class _Places:
    """Each address looked up once: thousands of flows go to a few servers."""

    def __init__(self, geo: GeoDatabase) -> None:
        self.geo = geo
        self.known: dict[str, Place] = {}

    def lookup(self, address: str) -> Place:
        place = self.known.get(address)
        if place is None:
            place = self.known[address] = self.geo.lookup(address)
        return place


def _protocol(proto: str, facts: Facts) -> str:
    if facts.client_hello is not None:
        return "tls"
    if facts.quic:
        return "quic"
    if facts.http is not None:
        return "http"
    if facts.dns:
        return "dns"
    return proto


# --- matching -------------------------------------------------------------


def _matches(found: list[RawMatch], flows: dict[int, Flow]) -> list[Match]:
    """Matches in flow order, without repeats.

    A copy searched alone (a retransmission) that repeats a stream match at the
    same offset, and a decoded HTTP body that repeats what the stream showed
    as sent, add nothing.
    """
    in_streams = {(m.flow, m.direction, m.hit.kind, m.hit.value, m.hit.encoding) for m in found
                  if m.source == "stream"}  # fmt: skip
    at_offsets = {(m.flow, m.direction, m.hit.kind, m.hit.value, m.hit.encoding, m.offset)
                  for m in found if m.source == "stream"}  # fmt: skip
    matches = []
    for raw in found:
        hit = raw.hit
        key = (raw.flow, raw.direction, hit.kind, hit.value, hit.encoding)
        if raw.source == "stray" and (*key, raw.offset) in at_offsets:
            continue
        if raw.source.startswith(HTTP_BODY) and key in in_streams:
            continue
        flow = flows[raw.flow]
        matches.append(
            Match(
                flow=flow,
                device=hit.device if hit.device is not None else flow.device,
                identifier=hit.kind,
                value=hit.value,
                encoding=raw.encoding,
                direction=raw.direction,
                packet=raw.packet,
                offset=raw.offset,
                evidence=raw.evidence,
                cleartext=not raw.decrypted,
            )
        )
    order = {"to_server": 0, "to_client": 1}
    return sorted(matches, key=lambda m: (m.flow.id, order[m.direction], m.offset))
