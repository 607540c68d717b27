"""From capture files to what the phone did: destinations, identifiers, DNS lookups.

``analyze`` reads each pcap once, groups its packets into flows, names every
destination, places it (country, owner) and searches both directions of every
flow that carried data for the rack's identifiers and the bench's location.
It never talks to a phone and never judges: the policy does that.

How a destination gets its name, best first:

1. ``dns``: a DNS answer in the analysed captures mapped the destination
   address to a name (the name the phone queried, even behind CNAMEs);
   when several names map to the address, the one the flow's SNI or Host
   also claims wins, else the latest answer before the flow began;
2. ``sni``: the TLS ClientHello's server_name;
3. ``http``: the HTTP request's Host header.

A name from 2 or 3 that no DNS answer gave for the address is marked
``name_resolved = False``: the phone connected without looking it up here
(a hard-coded address, or a cached answer). Every name a flow claims (DNS
name, SNI, Host) is kept in ``Flow.names`` so the policy can check them all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benches.gateway import flows as flowmod
from benches.gateway.geo import LOCAL, GeoDatabase
from benches.gateway.identifiers import (
    Hit,
    IdentifierPattern,
    find_identifiers,
    find_locations,
    identifier_patterns,
)
from benches.gateway.pcapread import PcapFile, read_packets
from benches.gateway.protocols import DnsMessage, parse_dns, parse_dns_stream
from benches.inventory.models import Rack
from benches.redact import mask

DNS_PORT = 53
EVIDENCE_CONTEXT = 24  # bytes of context either side of a match


@dataclass(frozen=True)
class Flow:
    """One flow as the report shows it: who talked to whom, where that is, how much."""

    id: int  # index in Analysis.flows
    pcap: str
    proto: str  # transport: "tcp", "udp", "icmp", ...
    protocol: str  # "tls", "http", "dns", or the transport when none of those
    client_ip: str
    client_port: int
    dst_ip: str  # the server side
    dst_port: int
    device: str | None  # the rack device whose address is the client side
    name: str | None
    name_source: str | None  # "dns", "sni", "http" or None
    name_resolved: bool  # the name came from a DNS answer for dst_ip in these captures
    dns_names: tuple[str, ...]  # every name DNS answers gave for dst_ip
    sni: str | None
    http_host: str | None
    tls: bool
    country: str | None  # ISO alpha-2, "LOCAL", or None when unknown
    owner: str | None
    geo_source: str
    packets: int
    bytes: int
    bytes_to_server: int  # payload bytes
    bytes_to_client: int
    first_packet: int
    last_packet: int
    first_time: float
    last_time: float
    gaps: int  # holes in the TCP byte streams

    @property
    def local(self) -> bool:
        return self.country == LOCAL

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this flow claims or was given: DNS name, SNI, Host."""
        found = (self.name, self.sni, self.http_host)
        return tuple(dict.fromkeys(n for n in found if n))

    def to_dict(self, scrub: Callable[[str | None], str | None] | None = None) -> dict[str, Any]:
        """JSON-able; ``scrub`` masks identifiers inside names (Analysis.scrub)."""
        clean = scrub or (lambda text: text)
        return {
            "id": self.id,
            "pcap": self.pcap,
            "proto": self.proto,
            "protocol": self.protocol,
            "client_ip": self.client_ip,
            "client_port": self.client_port,
            "device": self.device,
            "dst_ip": self.dst_ip,
            "dst_port": self.dst_port,
            "dst_host": clean(self.name),
            "name_source": self.name_source,
            "name_resolved": self.name_resolved,
            "dns_names": [clean(n) for n in self.dns_names],
            "sni": clean(self.sni),
            "http_host": clean(self.http_host),
            "tls": self.tls,
            "country": self.country,
            "owner": self.owner,
            "geo_source": self.geo_source,
            "packets": self.packets,
            "bytes": self.bytes,
            "bytes_to_server": self.bytes_to_server,
            "bytes_to_client": self.bytes_to_client,
            "first_packet": self.first_packet,
            "last_packet": self.last_packet,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "gaps": self.gaps,
        }


@dataclass(frozen=True)
class Match:
    """An identifier (or the bench's location) seen in a flow's bytes."""

    flow: Flow
    device: str | None  # whose identifier; for a location, the flow's device
    identifier: str  # "imei", "iccid", "imsi", "serial", "wifi_mac" or "location"
    value: str  # raw, unmasked: mask it before showing it to anyone
    encoding: str
    direction: str  # "to_server" or "to_client"
    packet: int  # frame number in the pcap where the match begins
    offset: int  # byte offset in that direction's stream
    evidence: str  # decoded bytes around the match, every identifier in it masked
    cleartext: bool  # the bytes were read off the wire, not decrypted by a proxy

    @property
    def pcap(self) -> str:
        return self.flow.pcap

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow.id,
            "device": self.device,
            "identifier": self.identifier,
            "value": mask_value(self.identifier, self.value),
            "encoding": self.encoding,
            "direction": self.direction,
            "pcap": self.pcap,
            "packet": self.packet,
            "offset": self.offset,
            "evidence": self.evidence,
            "cleartext": self.cleartext,
        }


@dataclass(frozen=True)
class DnsQuery:
    name: str
    pcap: str
    packet: int
    time: float
    client_ip: str
    server_ip: str


@dataclass(frozen=True)
class CaptureStats:
    pcap: str
    packets: int  # records in the file
    unreadable: int  # records or frames that could not be parsed
    truncated: int  # frames captured shorter than on the wire
    fragments: int  # IP fragments, not reassembled
    non_ip: int  # frames that are not IP (ARP, ...)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Analysis:
    pcaps: tuple[str, ...]
    flows: list[Flow] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    dns_queries: list[DnsQuery] = field(default_factory=list)
    captures: list[CaptureStats] = field(default_factory=list)
    patterns: tuple[IdentifierPattern, ...] = ()

    @property
    def packets(self) -> int:
        return sum(c.packets for c in self.captures)

    @property
    def unreadable(self) -> int:
        return sum(c.unreadable for c in self.captures)

    def scrub(self, text: str | None) -> str | None:
        """``text`` with any rack identifier in it masked (names can carry them too)."""
        if not text:
            return text
        data = text.encode("utf-8", "surrogateescape")
        hits = find_identifiers(data, self.patterns)
        if not hits:
            return text
        return _masked_text(data, hits, 0, len(data))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with every identifier masked."""
        return {
            "pcaps": list(self.pcaps),
            "packets": self.packets,
            "unreadable": self.unreadable,
            "captures": [c.to_dict() for c in self.captures],
            "flows": [f.to_dict(self.scrub) for f in self.flows],
            "matches": [m.to_dict() for m in self.matches],
            "dns_queries": [
                {
                    "name": self.scrub(q.name),
                    "pcap": q.pcap,
                    "packet": q.packet,
                    "time": q.time,
                    "client_ip": q.client_ip,
                    "server_ip": q.server_ip,
                }
                for q in self.dns_queries
            ],
        }


def analyze(pcaps: Sequence[Path], rack: Rack, geo: GeoDatabase) -> Analysis:
    """Read every capture and describe its flows, identifier matches and DNS lookups.

    Raises CaptureError (before reading any packet) if a file is unusable.
    """
    files = _open_all(pcaps)  # fail fast on a bad file, before the slow part
    analysis = Analysis(pcaps=tuple(str(p) for p in pcaps), patterns=identifier_patterns(rack))
    devices = {
        _canonical(address): d.serial for d in rack.devices for address in d.network.addresses
    }
    raw_flows: list[flowmod.Flow] = []
    for capture in files:
        raw_flows.extend(_read(capture, analysis, devices.keys()))
    answers, dns_flows = _dns(raw_flows, analysis)
    for index, raw in enumerate(raw_flows):
        flow = _describe(index, raw, index in dns_flows, answers, geo, devices)
        analysis.flows.append(flow)
        analysis.matches.extend(_matches(flow, raw, analysis.patterns, rack))
    return analysis


def mask_value(identifier: str, value: str) -> str:
    """Mask an identifier's value; a location is masked coordinate by coordinate."""
    if identifier == "location":
        return ",".join(mask(part) for part in value.split(","))
    return mask(value)


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


# --- DNS -------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    time: float
    chain: tuple[str, ...]  # queried name first

    @property
    def name(self) -> str:
        return self.chain[0]


def _dns_messages(raw: flowmod.Flow) -> list[tuple[str, int, float, DnsMessage]]:
    """(direction, frame, time, message) for every DNS message the flow carried."""
    if DNS_PORT not in (raw.server_port, raw.client_port) or raw.proto not in ("udp", "tcp"):
        return []
    found: list[tuple[str, int, float, DnsMessage]] = []
    for direction, stream in raw.streams():
        for offset, chunk in stream.chunks():
            piece = stream.piece_at(offset)
            if raw.proto == "udp":
                message = parse_dns(chunk)
                messages = [message] if message else []
            else:
                messages = parse_dns_stream(chunk)
            found.extend((direction, piece.frame, piece.time, m) for m in messages)
    return found


def _dns(
    raw_flows: list[flowmod.Flow], analysis: Analysis
) -> tuple[dict[str, list[_Answer]], set[int]]:
    """Record the DNS queries; return (address -> answers naming it, indexes of DNS flows)."""
    answers: dict[str, list[_Answer]] = {}
    dns_flows = set()
    for index, raw in enumerate(raw_flows):
        messages = _dns_messages(raw)
        if messages:
            dns_flows.add(index)
        for direction, frame, time, message in messages:
            if not message.response:
                client, server = (
                    (raw.client_ip, raw.server_ip)
                    if direction == "to_server"
                    else (raw.server_ip, raw.client_ip)
                )
                for name in message.questions:
                    analysis.dns_queries.append(
                        DnsQuery(name, raw.pcap, frame, time, client, server)
                    )
                continue
            for address, chain in message.addresses().items():
                answers.setdefault(address, []).append(_Answer(time, chain))
    analysis.dns_queries.sort(key=lambda q: (q.pcap, q.packet))
    return answers, dns_flows


# --- describing a flow ----------------------------------------------------


def _describe(
    index: int,
    raw: flowmod.Flow,
    is_dns: bool,
    answers: dict[str, list[_Answer]],
    geo: GeoDatabase,
    devices: dict[str, str],
) -> Flow:
    sni = _name_only(raw.sni)
    host = _name_only(raw.http_host)
    known = answers.get(_canonical(raw.server_ip), [])
    name, source = _attribute(known, (sni, host), raw.first_time)
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
        device=devices.get(_canonical(raw.client_ip)),
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


def _attribute(
    known: list[_Answer], claimed: tuple[str | None, ...], start: float
) -> tuple[str | None, str | None]:
    """(name, source) for a destination: DNS first, then SNI, then Host."""
    if known:
        for answer in known:
            if any(c in answer.chain for c in claimed if c):
                return answer.name, "dns"
        before = [a for a in known if a.time <= start]
        chosen = max(before, key=lambda a: a.time) if before else known[0]
        return chosen.name, "dns"
    sni, host = claimed
    if sni:
        return sni, "sni"
    if host:
        return host, "http"
    return None, None


def _protocol(raw: flowmod.Flow, is_dns: bool) -> str:
    if raw.tls:
        return "tls"
    if raw.http is not None:
        return "http"
    if is_dns:
        return "dns"
    return raw.proto


def _name_only(name: str | None) -> str | None:
    """A host name, or None for an address literal (which names nothing)."""
    if not name:
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return None


def _canonical(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


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
                        evidence=_evidence(chunk, hit, hits),
                        cleartext=not stream.decrypted,
                    )
                )
    return found


def _evidence(chunk: bytes, hit: Hit, hits: list[Hit]) -> str:
    """The bytes around a match, decoded, with every identifier in them masked."""
    start = max(0, hit.start - EVIDENCE_CONTEXT)
    end = min(len(chunk), hit.end + EVIDENCE_CONTEXT)
    widened = True
    while widened:  # never cut an identifier in half at the edges: swallow it whole
        widened = False
        for other in hits:
            if other.start < start < other.end:
                start, widened = other.start, True
            if other.start < end < other.end:
                end, widened = other.end, True
    return _masked_text(chunk, hits, start, end)


def _masked_text(data: bytes, hits: Sequence[Hit], start: int, end: int) -> str:
    parts = []
    position = start
    for other in sorted(hits, key=lambda h: h.start):
        if other.start < position or other.start >= end:
            continue
        parts.append(_printable(data[position : other.start]))
        parts.append(_mask_in_place(data[other.start : other.end], other))
        position = other.end
    parts.append(_printable(data[position:end]))
    return "".join(parts)


def _mask_in_place(span: bytes, hit: Hit) -> str:
    """Mask the identifier where it stands; a location keeps the text between its numbers."""
    if hit.kind != "location":
        return mask(_printable(span))
    text = _printable(span)
    first, second = hit.value.split(",", 1)
    middle = text[len(first) : len(text) - len(second)]
    return f"{mask(first)}{middle}{mask(second)}"


def _printable(data: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data)
