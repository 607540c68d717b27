"""Names for destinations, from the DNS lookups in the captures, else SNI, else Host.

How a destination gets its name, best first:

1. ``dns``: a DNS answer that the flow's own client received, in any of the
   analysed captures, mapped the destination address to a name (the name the
   phone queried, even behind CNAMEs); when several names map to the address,
   the one the flow's SNI or Host also claims wins, else the latest answer
   before the flow began;
2. ``sni``: the TLS ClientHello's server_name;
3. ``http``: the HTTP request's Host header.

A name from 2 or 3 that no DNS answer gave for the address is marked
``name_resolved = False``: the phone connected without looking it up here
(a hard-coded address, or a cached answer). Every name a flow claims (DNS
name, SNI, Host) is kept in ``Flow.names``; the SNI or Host names that no
answer of the client's ties to the address (:func:`claimed_only`) are only
claimed: the firmware chose them, and the policy does not take them on trust.

A destination that is an IPv4 host translated (NAT64, IPv4-mapped:
:mod:`~benches.analysis.attribution.embedded`) is also named by the answers
for that IPv4 (:func:`merged`): with 464XLAT the phone resolves an A record
and its CLAT sends to the NAT64 address. A DNS64 AAAA answer names the NAT64
address itself.

Whose answer it is matters: the answers are grouped by the *owner* of the
address they were sent to (:func:`known_addresses`): a rack phone (by serial,
so an address it moved to counts too), else the address itself. Another host's
lookups never name a phone's destination.

Reading the DNS answers also records every DNS query, for the report.

The answers are kept in the order they were read, each stamped with the
capture and the frame being read at the time
(:class:`~benches.analysis.pcap.clock.Clock`): a parallel
analysis merges its processes' answers back into that order before naming.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from benches.analysis.network.streams import FlowInfo
from benches.analysis.pcap.clock import Clock
from benches.analysis.protocols.dns import DnsMessage


@dataclass(frozen=True)
class DnsQuery:
    """One DNS query the phone sent, for the report."""

    name: str
    pcap: str
    packet: int
    time: float
    client_ip: str
    server_ip: str

    def __init__(
        self, name: str, pcap: str, packet: int, time: float, client_ip: str, server_ip: str
    ) -> None:
        # One dict set at once, not the frozen dataclass's object.__setattr__ per field
        # (as results.Flow.made): tens of thousands of queries a night.
        _SET(self, "__dict__", {
            "name": name, "pcap": pcap, "packet": packet, "time": time,
            "client_ip": client_ip, "server_ip": server_ip,
        })  # fmt: skip


_SET = object.__setattr__


# (capture index, frame being read, answer number, address, time, name chain, receiver):
# the receiver is the address the answer was sent to.
Answer = tuple[int, int, int, str, float, tuple[str, ...], str]


class Known:
    """What the DNS answers in the captures say about one address.

    Kept as the distinct name chains and a time-sorted index, not as every
    answer: a phone asks for the same names over and over, and every flow to
    the address looks them up.
    """

    __slots__ = ("chains", "times", "names_by_time", "first", "_sorted", "_names")

    def __init__(self) -> None:
        self.chains: dict[tuple[str, ...], None] = {}  # distinct chains, first seen first
        self.times: list[float] = []
        self.names_by_time: list[str] = []
        self.first = ""  # the name of the first answer
        self._sorted = True
        self._names: tuple[str, ...] | None = None  # names, once asked (every flow asks)

    def add(self, time: float, chain: tuple[str, ...]) -> None:
        self._names = None
        if not self.first:
            self.first = chain[0]
        self.chains.setdefault(chain, None)
        if self.times and time < self.times[-1]:
            self._sorted = False
        self.times.append(time)
        self.names_by_time.append(chain[0])

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the answers gave for the address (the queried names), in order."""
        if self._names is None:
            self._names = tuple(dict.fromkeys(chain[0] for chain in self.chains))
        return self._names

    def latest_before(self, start: float) -> str:
        """The name of the latest answer before ``start`` (the first of equals); else the first."""
        if not self._sorted:
            pairs = sorted(zip(self.times, self.names_by_time, strict=True), key=lambda p: p[0])
            self.times = [t for t, _ in pairs]
            self.names_by_time = [n for _, n in pairs]
            self._sorted = True
        index = bisect.bisect_right(self.times, start)
        if not index:
            return self.first
        return self.names_by_time[bisect.bisect_left(self.times, self.times[index - 1])]


class DnsLog:
    """Every DNS message of the analysed captures, kept as what the analysis needs:
    the queries (for the report) and, per answered address, what the answers say."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.queries: list[DnsQuery] = []
        self.answers: list[Answer] = []  # in the order they were read

    def add(
        self, info: FlowInfo, direction: str, frame: int, time: float, message: DnsMessage
    ) -> None:
        if not message.response:
            client, server = (
                (info.client_ip, info.server_ip)
                if direction == "to_server"
                else (info.server_ip, info.client_ip)
            )
            for name in message.questions:
                self.queries.append(DnsQuery(name, info.pcap, frame, time, client, server))
            return
        clock, answers = self.clock, self.answers
        receiver = info.client_ip if direction == "to_client" else info.server_ip
        for address, chain in message.addresses().items():
            answers.append(
                (clock.capture, clock.frame, len(answers), address, time, chain, receiver)
            )


def known_addresses(
    answers: list[Answer], owners: Mapping[str, str] | None = None
) -> dict[tuple[str, str], Known]:
    """What the answers (in the order they were read) say about each address, per owner:
    keyed by (owner of the receiver, address). ``owners`` maps an address to who holds
    it (a phone's serial); an address it does not know is its own owner."""
    owners = owners or {}
    known: dict[tuple[str, str], Known] = {}
    for _, _, _, address, time, chain, receiver in answers:
        key = (owners.get(receiver, receiver), address)
        entry = known.get(key)
        if entry is None:
            entry = known[key] = Known()
        entry.add(time, chain)
    return known


def merged(first: Known | None, second: Known | None) -> Known | None:
    """What two addresses' answers say together (one address translated into the
    other); either alone when the other has none."""
    if first is None or second is None:
        return first or second
    both = Known()
    both.first = first.first if min(first.times) <= min(second.times) else second.first
    both.chains = {**first.chains, **second.chains}
    both.times = [*first.times, *second.times]
    both.names_by_time = [*first.names_by_time, *second.names_by_time]
    both._sorted = False
    return both


def sorted_queries(queries: list[DnsQuery]) -> list[DnsQuery]:
    return sorted(queries, key=lambda q: (q.pcap, q.packet))


def attribute(
    known: Known | None, claimed: tuple[str | None, ...], start: float
) -> tuple[str | None, str | None]:
    """(name, source) for a destination: DNS first, then SNI, then Host."""
    if known is not None:
        for chain in known.chains:
            if any(c in chain for c in claimed if c):
                return chain[0], "dns"
        return known.latest_before(start), "dns"
    sni, host = claimed
    if sni:
        return sni, "sni"
    if host:
        return host, "http"
    return None, None


def claimed_only(known: Known | None, claimed: tuple[str | None, ...]) -> tuple[str, ...]:
    """The names of ``claimed`` (SNI, Host) that no answer in ``known`` ties to the address:
    a name counts when it is any name of an answer's chain (the queried name, a CNAME, the
    name owning the address record)."""
    if not any(claimed):
        return ()
    chains = known.chains if known is not None else {}
    return tuple(dict.fromkeys(c for c in claimed if c and not any(c in chain for chain in chains)))


@functools.lru_cache(maxsize=8192)
def name_only(name: str | None) -> str | None:
    """A host name, or None for an address literal (which names nothing)."""
    if not name:
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return None


@functools.lru_cache(maxsize=8192)
def canonical(ip: str) -> str:
    """The address as ``ipaddress`` writes it (the flows' own form); not an address: as is."""
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip
