"""From capture files to what the phone did: destinations, identifiers, DNS lookups.

``analyze`` streams each pcap once: records (:mod:`~benches.analysis.pcap.files`)
→ IP packets from raw bytes (:mod:`~benches.analysis.network.packets`, fragments through
:mod:`~benches.analysis.network.defrag`) → flows (:mod:`~benches.analysis.network.flows`, TCP
put in order by :mod:`~benches.analysis.network.tcp`) → each direction's bytes, as they
become contiguous, to the inspection (:mod:`~benches.analysis.inspection`):
every byte searched for the rack's identifiers and the bench's location, and
DNS, TLS, HTTP and QUIC read for names. Only then, with every DNS answer
known, is each destination named and placed (country, owner).

It never talks to a phone and never judges: the policy does that. The result
types live in :mod:`benches.analysis.results`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from benches.analysis.attribution.geo import GeoDatabase, Place
from benches.analysis.attribution.names import (
    Known,
    attribute,
    canonical,
    claimed_only,
    known_addresses,
    merged,
    sorted_queries,
)
from benches.analysis.attribution.phones import FoundPhone, Phones
from benches.analysis.detection.detector import Detector
from benches.analysis.gcpause import paused_gc
from benches.analysis.inspection import DECODED, WEBSOCKET, RawMatch
from benches.analysis.interception.reading import Intercepted, read_interception
from benches.analysis.parallel import read_captures
from benches.analysis.pcap.files import PcapReader, read_packets
from benches.analysis.protocols.notes import ADDRESS_CHANGED, FlowNote
from benches.analysis.readout import FlowRecord
from benches.analysis.results import Analysis, Flow, InterceptionSummary, Match
from benches.inventory.bench_names import is_bench_name
from benches.inventory.models import Rack


def analyze(
    pcaps: Sequence[Path],
    rack: Rack,
    geo: GeoDatabase,
    jobs: int = 1,
    interception: Sequence[Intercepted] = (),
) -> Analysis:
    """Read every capture and describe its flows, identifier matches and DNS lookups.

    ``jobs``: processes that read the captures, each a share of the flows
    (:mod:`~benches.analysis.parallel`); the result is the same for any number.
    ``interception``: what a TLS interceptor decrypted of these captures' flows
    (:mod:`~benches.analysis.interception`), searched as their cleartext would be.
    Raises CaptureError (before reading any packet) if a file is unusable.
    """
    with paused_gc():
        return _analyze(pcaps, rack, geo, jobs, interception)


def _analyze(
    pcaps: Sequence[Path],
    rack: Rack,
    geo: GeoDatabase,
    jobs: int,
    interception: Sequence[Intercepted],
) -> Analysis:
    files = _open_all(pcaps)  # fail fast on a bad file, before the slow part
    detector = detector_for(rack)
    analysis = Analysis(
        pcaps=tuple(str(p) for p in pcaps), patterns=detector.patterns, detector=detector
    )
    phones = Phones(rack)
    readout = read_captures(
        files, detector, phones.by_address.keys(), jobs, geo.load, phones.by_mac.keys()
    )
    analysis.captures = readout.captures
    analysis.dns_queries = sorted_queries(readout.queries)
    records, raw_matches, status = readout.flows, readout.matches, {}
    if interception:
        reading = read_interception(interception, records, detector, phones.by_address.keys())
        records, raw_matches = reading.apply(records), [*raw_matches, *reading.matches]
        status = reading.status
        analysis.interception = InterceptionSummary(
            reading.files, sorted(reading.ports), reading.problems
        )
    found = [phones.find(r.client_ip, r.client_mac, r.server_ip, r.server_mac)
             for r in records]  # fmt: skip
    answers = known_addresses(readout.answers, phones.owners(found))
    places = _Places(geo)
    analysis.flows = [
        _describe(index, record, answers, places, phone, status.get(index))
        for index, (record, phone) in enumerate(zip(records, found, strict=True))
    ]
    analysis.matches.extend(_matches(raw_matches, analysis.flows))
    return analysis


_DETECTORS: dict[Rack, Detector] = {}
_DETECTORS_KEPT = 8  # racks: a process analyses one, a test session a few
_DETECTORS_LOCK = threading.Lock()


def detector_for(rack: Rack) -> Detector:
    """The rack's detector, built once per rack in this process (it only reads its
    automata): a sign-off worker judges every cycle with one, and a caller may build it
    ahead (`Signoff`). Kept in memory only; it holds the rack's identifiers. A second
    caller while it is built waits for it rather than building it again."""
    try:
        hash(rack)
    except TypeError:  # a rack built with a list somewhere: unhashable, so not kept
        return Detector(rack)
    with _DETECTORS_LOCK:
        detector = _DETECTORS.get(rack)
        if detector is None:
            if len(_DETECTORS) >= _DETECTORS_KEPT:
                _DETECTORS.clear()
            detector = _DETECTORS[rack] = Detector(rack)
        return detector


# --- reading ---------------------------------------------------------------


def _open_all(pcaps: Sequence[Path]) -> list[PcapReader]:
    files: list[PcapReader] = []
    try:
        for path in pcaps:
            files.append(read_packets(path))
    except BaseException:
        for capture in files:
            capture.close()
        raise
    return files


# --- describing a flow ----------------------------------------------------


def _describe(
    index: int,
    record: FlowRecord,
    answers: dict[tuple[str, str], Known],
    places: _Places,
    phone: FoundPhone | None,
    interception: str | None = None,
) -> Flow:
    (_, pcap, proto, client_ip, client_port, server_ip, server_port, protocol, sni, host, tls,
     packets, size, to_server, to_client, first_frame, last_frame, first_time, last_time,
     gaps, notes, client_mac, _, _) = record  # fmt: skip
    device = phone.serial if phone is not None else None
    place = places.lookup(server_ip)
    # Only the answers the flow's own client got name its destination.
    known = places.answers(answers, device or canonical(client_ip), server_ip, place)
    name, source = attribute(known, (sni, host), first_time)
    claimed = claimed_only(known, (sni, host))
    if claimed:  # most flows claim nothing the answers do not tie
        claimed = tuple(n for n in claimed if not is_bench_name(n))
    if phone is not None and phone.note is not None:
        notes = (*notes, FlowNote(ADDRESS_CHANGED, phone.note, first_frame))
    return Flow.of(
        {
            "id": index,
            "pcap": pcap,
            "proto": proto,
            "protocol": protocol,
            "client_ip": client_ip,
            "client_port": client_port,
            "dst_ip": server_ip,
            "dst_port": server_port,
            "device": device,
            "name": name,
            "name_source": source,
            "name_resolved": source == "dns",
            "dns_names": known.names if known is not None else (),
            "sni": sni,
            "http_host": host,
            "tls": tls,
            "country": place.country,
            "owner": place.owner,
            "geo_source": place.source,
            "countries": dict(place.countries),
            "packets": packets,
            "bytes": size,
            "bytes_to_server": to_server,
            "bytes_to_client": to_client,
            "first_packet": first_frame,
            "last_packet": last_frame,
            "first_time": first_time,
            "last_time": last_time,
            "gaps": gaps,
            "notes": notes,
            "claimed_names": claimed,
            "judged": device is not None,
            "client_mac": client_mac,
            "embedded_ipv4": place.embedded,
            "interception": interception,
        }
    )


class _Places:
    """Each address looked up once: thousands of flows go to a few servers."""

    def __init__(self, geo: GeoDatabase) -> None:
        self.geo = geo
        self.known: dict[str, Place] = {}
        self._translated: dict[tuple[str, str], Known | None] = {}

    def lookup(self, address: str) -> Place:
        place = self.known.get(address)
        if place is None:
            place = self.known[address] = self.geo.lookup(address)
        return place

    def answers(
        self, answers: dict[tuple[str, str], Known], owner: str, address: str, place: Place
    ) -> Known | None:
        """What ``owner``'s DNS answers say about ``address``. For a translation of an
        IPv4 address (NAT64, IPv4-mapped) the answers for that IPv4 count too: with
        464XLAT the phone resolves an A record and its CLAT sends to the NAT64 address
        (a DNS64 AAAA answer names the NAT64 address itself). Merged once per pair."""
        exact = answers.get((owner, canonical(address)))
        inside = place.embedded
        if inside is None or not inside.translated or inside.address is None:
            return exact
        key = (owner, address)
        if key not in self._translated:
            self._translated[key] = merged(exact, answers.get((owner, inside.address)))
        return self._translated[key]


# --- matching -------------------------------------------------------------


def _matches(found: list[RawMatch], flows: list[Flow]) -> list[Match]:
    """Matches in flow order, without repeats.

    A copy searched alone (a retransmission) that repeats a stream match at the
    same offset, and a decoded HTTP body that repeats what the stream showed
    as sent or a WebSocket message that repeats it, add nothing.
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
        if raw.source.startswith((*DECODED, WEBSOCKET)) and key in in_streams:
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
                form=hit.form,
            )
        )
    order = {"to_server": 0, "to_client": 1}
    return sorted(matches, key=lambda m: (m.flow.id, order[m.direction], m.offset))
