"""What ``analyze`` reports: flows as the report shows them, matches, DNS lookups.

A DNS lookup (:class:`DnsQuery`) is recorded where the DNS messages are read
(:mod:`~benches.analysis.attribution.names`) and reported from here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from benches.analysis.attribution.embedded import Embedding
from benches.analysis.attribution.geo import LOCAL
from benches.analysis.attribution.names import DnsQuery
from benches.analysis.detection.detector import Detector
from benches.analysis.detection.identifiers import IdentifierPattern, find_identifiers
from benches.analysis.detection.masks import mask_value, masked_text
from benches.analysis.protocols.notes import FlowNote
from benches.redaction.masks import device_label


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
    # The rack phone of the flow: the client side's (by MAC, else by address), else the
    # server side's; None for another host's flow, which is not judged.
    device: str | None
    name: str | None  # the best name known (DNS, else SNI, else Host), for people
    name_source: str | None  # "dns", "sni", "http" or None
    name_resolved: bool  # the name came from a DNS answer the client got for dst_ip
    dns_names: tuple[str, ...]  # every name the client's DNS answers gave for dst_ip
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
    # What the readers could not read on this flow (benches.analysis.protocols.notes).
    notes: tuple[FlowNote, ...] = field(default=(), hash=False)
    # Every geo signal's answer, by source: {"geoip2fast": "IN", "iptocc": "US"}.
    countries: dict[str, str | None] = field(default_factory=dict, hash=False)
    # Names the flow claims (SNI, Host) that no DNS answer of its client ties to dst_ip,
    # and that are not the bench's own: shown, never trusted by the policy.
    claimed_names: tuple[str, ...] = ()
    judged: bool = True  # a rack phone's flow: the policy judges it
    client_mac: str | None = None  # the client side's Ethernet address, when seen
    # The IPv4 dst_ip stands for (NAT64, 6to4, Teredo, IPv4-mapped), which placed it.
    embedded_ipv4: Embedding | None = None
    # Seen by the TLS interceptor (benches.analysis.interception): "opened", "opaque",
    # "not tried" (a TLS flow on a port it does not take) or "quic blocked"; None when
    # interception was off or the flow is not the phone's TLS or QUIC.
    interception: str | None = None

    @classmethod
    def made(cls, **values: Any) -> Flow:
        """The Flow with these fields (every one of them), made without the frozen
        dataclass's ``__init__``: its ``object.__setattr__`` per field is most of the
        time it takes to describe tens of thousands of flows."""
        return cls.of(values)

    @classmethod
    def of(cls, values: dict[str, Any]) -> Flow:
        """:meth:`made` from a dict of every field, which the Flow keeps as its own: a
        call with 35 keywords costs more than building the dict."""
        flow = object.__new__(cls)
        object.__setattr__(flow, "__dict__", values)
        return flow

    @property
    def local(self) -> bool:
        return self.country == LOCAL

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this flow claims or was given: DNS name, SNI, Host."""
        found = (self.name, self.sni, self.http_host)
        return tuple(dict.fromkeys(n for n in found if n))

    @property
    def checked_names(self) -> tuple[str, ...]:
        """The names that count for the policy: those the client's DNS answers tie to
        dst_ip, and the bench's own; not :attr:`claimed_names`."""
        return tuple(n for n in self.names if n not in self.claimed_names)

    def to_dict(
        self,
        scrub: Callable[[str | None], str | None] | None = None,
        label: Callable[[str | None], str | None] | None = None,
    ) -> dict[str, Any]:
        """JSON-able; ``scrub`` masks identifiers inside names (Analysis.scrub), ``label``
        names the phone (default: its label, :func:`benches.redaction.masks.device_label`)."""
        clean = scrub or (lambda text: text)
        return {
            "id": self.id,
            "pcap": self.pcap,
            "proto": self.proto,
            "protocol": self.protocol,
            "client_ip": self.client_ip,
            "client_port": self.client_port,
            "device": (label or _label)(self.device),
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
            "countries": dict(self.countries),
            "notes": [note.to_dict(clean) for note in self.notes],
            "claimed_names": [clean(n) for n in self.claimed_names],
            "judged": self.judged,
            "client_mac": mask_value("wifi_mac", self.client_mac) if self.client_mac else None,
            "embedded_ipv4": self.embedded_ipv4.to_dict() if self.embedded_ipv4 else None,
            "interception": self.interception,
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
    form: str | None = None  # how the identifier was written: "imei-14", "iccid-bcd", "e7", ...

    @property
    def pcap(self) -> str:
        return self.flow.pcap

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow.id,
            "device": _label(self.device),
            "identifier": self.identifier,
            "value": mask_value(self.identifier, self.value),
            "form": self.form,
            "encoding": self.encoding,
            "direction": self.direction,
            "pcap": self.pcap,
            "packet": self.packet,
            "offset": self.offset,
            "evidence": self.evidence,
            "cleartext": self.cleartext,
        }


@dataclass(frozen=True)
class CaptureStats:
    pcap: str
    packets: int  # records in the file
    unreadable: int  # records or frames that could not be parsed
    truncated: int  # frames captured shorter than on the wire
    fragments: int  # IP fragments never made whole (incomplete, conflicting or evicted)
    non_ip: int  # frames of link control the bench knows (ARP, LLDP, STP, ...)
    # Frames that are neither IP nor known link control, by what they hold
    # ("ethertype 0x88b5", "PPP protocol 0x002b", ...): the bench could not read them.
    unknown_frames: dict[str, int] = field(default_factory=dict)
    # IP packets read into flows (a datagram made whole counts its fragments); None when
    # not counted.
    ip_packets: int | None = None
    stopped: str | None = None  # why reading stopped before the end of the file (a .gz cap)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "unknown_frames": dict(sorted(self.unknown_frames.items()))}


INTERCEPTION_STATES = ("opened", "opaque", "not tried", "quic blocked")


@dataclass
class InterceptionSummary:
    """What the TLS interceptor's files gave the analysis, beyond each flow's own."""

    files: list[str] = field(default_factory=list)  # the X.intercepted.jsonl read
    ports: list[int] = field(default_factory=list)  # the TCP ports it takes
    # Why its files cannot back a pass, for the whole cycle: not complete, a bad line
    # that names no connection ("X.intercepted.jsonl line 7: not JSON (...)").
    problems: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    pcaps: tuple[str, ...]
    flows: list[Flow] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    dns_queries: list[DnsQuery] = field(default_factory=list)
    captures: list[CaptureStats] = field(default_factory=list)
    patterns: tuple[IdentifierPattern, ...] = ()
    # The detector that searched the captures, when there was one: scrubbing names with
    # it saves building a second automaton for ``patterns``.
    detector: Detector | None = field(default=None, repr=False, compare=False)
    interception: InterceptionSummary | None = None  # None: no interception

    def tls_counts(self) -> dict[str, dict[str, int]]:
        """Per phone (its label), the TLS flows the interceptor opened, left opaque or did
        not try, and the QUIC attempts blocked: {"SI…1": {"opened": 3, ...}}."""
        counts: dict[str, dict[str, int]] = {}
        if self.interception is None:
            return counts
        for flow in self.flows:
            if flow.interception is None or not flow.judged:
                continue
            label = _label(flow.device) or "?"
            phone = counts.setdefault(label, dict.fromkeys(INTERCEPTION_STATES, 0))
            phone[flow.interception] = phone.get(flow.interception, 0) + 1
        return counts

    def interception_dict(self) -> dict[str, Any] | None:
        """The ``interception`` of the JSON: None when interception was off."""
        summary = self.interception
        if summary is None:
            return None
        return {
            "files": list(summary.files),
            "ports": list(summary.ports),
            "problems": [self.scrub(p) for p in summary.problems],
            "phones": self.tls_counts(),
            # the hosts behind the phones' opaque flows, by name (else address) and port
            "opaque": sorted(
                {
                    f"{self.scrub(f.name) or f.dst_ip}:{f.dst_port}"
                    for f in self.flows
                    if f.interception == "opaque" and f.judged
                }
            ),
        }

    @property
    def packets(self) -> int:
        return sum(c.packets for c in self.captures)

    @property
    def unreadable(self) -> int:
        return sum(c.unreadable for c in self.captures)

    def not_judged(self) -> dict[str, Any]:
        """The flows of hosts that are not rack phones, counted: they are not judged."""
        flows = [f for f in self.flows if not f.judged]
        hosts = sorted({f.client_ip for f in flows})
        return {"flows": len(flows), "hosts": len(hosts), "addresses": hosts}

    def scrub(self, text: str | None) -> str | None:
        """``text`` with any rack identifier in it masked (names can carry them too)."""
        if not text:
            return text
        data = text.encode("utf-8", "surrogateescape")
        if self.detector is not None:
            hits = self.detector.matcher.find(data)
        else:
            hits = find_identifiers(data, self.patterns)
        if not hits:
            return text
        return masked_text(data, hits, 0, len(data))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with every identifier masked."""
        scrub = self.scrubber()
        return {
            "pcaps": list(self.pcaps),
            "packets": self.packets,
            "unreadable": self.unreadable,
            "captures": [c.to_dict() for c in self.captures],
            "flows": list(self.flow_dicts(scrub)),
            "matches": [m.to_dict() for m in self.matches],
            "dns_queries": list(self.query_dicts(scrub)),
            "not_judged": self.not_judged(),
            "interception": self.interception_dict(),
        }

    def scrubber(self) -> Callable[[str | None], str | None]:
        """:meth:`scrub` that searches each text once: names repeat."""
        return functools.cache(self.scrub)

    def flow_dicts(self, scrub: Callable[[str | None], str | None]) -> Iterator[dict[str, Any]]:
        """The flows as ``to_dict`` gives them, made one at a time (there may be many).
        Each phone's label is worked out once: tens of thousands of flows share a few."""
        label = functools.cache(_label)
        return (flow.to_dict(scrub, label) for flow in self.flows)

    def query_dicts(self, scrub: Callable[[str | None], str | None]) -> Iterator[dict[str, Any]]:
        """The DNS queries as ``to_dict`` gives them, made one at a time."""
        for q in self.dns_queries:
            yield {
                "name": scrub(q.name),
                "pcap": q.pcap,
                "packet": q.packet,
                "time": q.time,
                "client_ip": q.client_ip,
                "server_ip": q.server_ip,
            }


def _label(serial: str | None) -> str | None:
    """JSON is for people and their tools: a phone is named by its label, not its serial."""
    return device_label(serial) if serial is not None else None
