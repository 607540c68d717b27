"""Names for destinations, from the DNS lookups in the captures, else SNI, else Host.

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

Reading the DNS answers also records every DNS query, for the report.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from benches.gateway import flows as flowmod
from benches.gateway.protocols import DnsMessage, parse_dns, parse_dns_stream
from benches.gateway.results import Analysis, DnsQuery

DNS_PORT = 53


@dataclass(frozen=True)
class Answer:
    time: float
    chain: tuple[str, ...]  # queried name first

    @property
    def name(self) -> str:
        return self.chain[0]


def dns_messages(raw: flowmod.Flow) -> list[tuple[str, int, float, DnsMessage]]:
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


def collect_dns(
    raw_flows: list[flowmod.Flow], analysis: Analysis
) -> tuple[dict[str, list[Answer]], set[int]]:
    """Record the DNS queries; return (address -> answers naming it, indexes of DNS flows)."""
    answers: dict[str, list[Answer]] = {}
    dns_flows = set()
    for index, raw in enumerate(raw_flows):
        messages = dns_messages(raw)
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
                answers.setdefault(address, []).append(Answer(time, chain))
    analysis.dns_queries.sort(key=lambda q: (q.pcap, q.packet))
    return answers, dns_flows


def attribute(
    known: list[Answer], claimed: tuple[str | None, ...], start: float
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


def name_only(name: str | None) -> str | None:
    """A host name, or None for an address literal (which names nothing)."""
    if not name:
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return None


def canonical(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip
