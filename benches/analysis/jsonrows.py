"""Flows and DNS queries as JSON text, made straight from the objects.

``bench analyze --json`` writes a line per flow and per DNS query: tens of
thousands of each. Building a dict per flow (``Flow.to_dict``) and encoding
it with the json module's C encoder cost about 15 µs a flow, and it ran after
the reading, in one process. Most of a flow's fields repeat from flow to flow
(the capture, the phone, the destination and what is known of it), so here
each distinct value is encoded once, the fields that repeat between one client
and one destination are joined once per distinct set of their values, and a
flow is one f-string of those pieces and its numbers.

The text is exactly what the encoder gives for ``to_dict`` (the ``encode``
passed in, which also encodes every value cached here): the tests hold the
two to that, field by field and value by value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from benches.analysis.attribution.embedded import Embedding
from benches.analysis.detection.masks import mask_value
from benches.analysis.protocols.notes import FlowNote
from benches.analysis.results import DnsQuery, Flow
from benches.redaction.masks import device_label

Encode = Callable[[Any], str]
Scrub = Callable[[str | None], str | None]
_BOOLEAN = {True: "true", False: "false"}
_finite = math.isfinite
PIECES_KEPT = 1 << 16  # distinct sets of a flow's repeating fields, at most (then forgotten)


class RawJson(str):
    """JSON text, written as it is."""

    __slots__ = ()


class RowEncoder:
    """Flows and DNS queries as JSON objects, the same as ``encode(x.to_dict())``."""

    def __init__(self, encode: Encode, scrub: Scrub) -> None:
        self.encode = encode
        self.scrub = scrub  # masks identifiers inside names (Analysis.scrubber)
        self._pieces: dict[tuple[Any, ...], tuple[str, str, str]] = {}  # see flow()
        self._texts: dict[str | None, str] = {}
        self._names: dict[str | None, str] = {}
        self._devices: dict[str | None, str] = {}
        self._lists: dict[tuple[str, ...], str] = {}
        self._macs: dict[str | None, str] = {}
        self._countries: dict[tuple[tuple[str, str | None], ...], str] = {}
        self._embeddings: dict[Embedding | None, str] = {}
        # The text of each flow's first_time: a DNS query's time is its flow's first packet's,
        # and a float's repr costs about 7,000 instructions (tens of thousands a night).
        self._first_times: dict[float, str] = {}

    def flow(self, flow: Flow) -> RawJson:
        f = flow
        # Most fields repeat for every flow between one client and one destination: their
        # text is made once for each distinct set of values (the key), in three pieces.
        key = (f.pcap, f.proto, f.protocol, f.client_ip, f.device, f.dst_ip, f.dst_port,
               f.name, f.name_source, f.name_resolved, f.dns_names, f.sni, f.http_host, f.tls,
               f.country, f.owner, f.geo_source, f.claimed_names, f.judged, f.client_mac,
               f.embedded_ipv4, f.interception)  # fmt: skip
        pieces = self._pieces.get(key)
        if pieces is None:
            pieces = self._pieces_of(f, key)
        head, middle, tail = pieces
        first, last = f.first_time, f.last_time  # as _float writes them, without its call
        first_text = repr(first) if _finite(first) else _float(first)
        if first and type(first) is float:  # not 0.0 (equal to -0.0 as a key, not as text),
            self._first_times[first] = first_text  # nor an int (5 is 5.0 as a key)
        return RawJson(
            f'{{"id": {f.id}, {head}, "client_port": {f.client_port}, {middle}, '
            f'"packets": {f.packets}, "bytes": {f.bytes}, '
            f'"bytes_to_server": {f.bytes_to_server}, "bytes_to_client": {f.bytes_to_client}, '
            f'"first_packet": {f.first_packet}, "last_packet": {f.last_packet}, '
            f'"first_time": {first_text}, '
            f'"last_time": {repr(last) if _finite(last) else _float(last)}, '
            f'"gaps": {f.gaps}, "countries": {self._country_map(f.countries)}, '
            f'"notes": {self._notes(f.notes) if f.notes else "[]"}, {tail}}}'
        )

    def _pieces_of(self, f: Flow, key: tuple[Any, ...]) -> tuple[str, str, str]:
        """The text of the fields in ``key``, in the three runs the row has them."""
        text, name, lst = self._text, self._name, self._list
        head = (
            f'"pcap": {text(f.pcap)}, "proto": {text(f.proto)}, '
            f'"protocol": {text(f.protocol)}, "client_ip": {text(f.client_ip)}'
        )
        middle = (
            f'"device": {self._device(f.device)}, '
            f'"dst_ip": {text(f.dst_ip)}, "dst_port": {f.dst_port}, '
            f'"dst_host": {name(f.name)}, "name_source": {text(f.name_source)}, '
            f'"name_resolved": {_BOOLEAN[f.name_resolved]}, "dns_names": {lst(f.dns_names)}, '
            f'"sni": {name(f.sni)}, "http_host": {name(f.http_host)}, "tls": {_BOOLEAN[f.tls]}, '
            f'"country": {text(f.country)}, "owner": {text(f.owner)}, '
            f'"geo_source": {text(f.geo_source)}'
        )
        tail = (
            f'"claimed_names": {lst(f.claimed_names)}, "judged": {_BOOLEAN[f.judged]}, '
            f'"client_mac": {self._mac(f.client_mac)}, '
            f'"embedded_ipv4": {self._embedded(f.embedded_ipv4)}, '
            f'"interception": {text(f.interception)}'
        )
        if len(self._pieces) >= PIECES_KEPT:
            self._pieces.clear()
        pieces = self._pieces[key] = (head, middle, tail)
        return pieces

    def query(self, query: DnsQuery) -> RawJson:
        q, text, texts, time = query, self._text, self._texts.get, query.time
        return RawJson(
            f'{{"name": {self._names.get(q.name) or self._name(q.name)}, '
            f'"pcap": {texts(q.pcap) or text(q.pcap)}, "packet": {q.packet}, '
            f'"time": {(type(time) is float and self._first_times.get(time)) or _float(time)}, '
            f'"client_ip": {texts(q.client_ip) or text(q.client_ip)}, '
            f'"server_ip": {texts(q.server_ip) or text(q.server_ip)}}}'
        )

    # --- each distinct value encoded once ----------------------------------------

    def _text(self, value: str | None) -> str:
        done = self._texts.get(value)
        if done is None:
            done = self._texts[value] = self.encode(value)
        return done

    def _name(self, value: str | None) -> str:
        """A name, with any identifier in it masked."""
        done = self._names.get(value)
        if done is None:
            done = self._names[value] = self.encode(self.scrub(value))
        return done

    def _device(self, serial: str | None) -> str:
        """The phone by its label, as ``to_dict`` names it."""
        done = self._devices.get(serial)
        if done is None:
            label = device_label(serial) if serial is not None else None
            done = self._devices[serial] = self.encode(label)
        return done

    def _list(self, names: tuple[str, ...]) -> str:
        done = self._lists.get(names)
        if done is None:
            done = self._lists[names] = self.encode([self.scrub(n) for n in names])
        return done

    def _notes(self, notes: tuple[FlowNote, ...]) -> str:
        if not notes:
            return "[]"
        return self.encode([note.to_dict(self.scrub) for note in notes])

    def _mac(self, mac: str | None) -> str:
        """A MAC address, always masked: another host's is an identifier too."""
        done = self._macs.get(mac)
        if done is None:
            done = self._macs[mac] = self.encode(mask_value("wifi_mac", mac) if mac else None)
        return done

    def _embedded(self, embedded: Embedding | None) -> str:
        done = self._embeddings.get(embedded)
        if done is None:
            value = embedded.to_dict() if embedded is not None else None
            done = self._embeddings[embedded] = self.encode(value)
        return done

    def _country_map(self, countries: Mapping[str, str | None]) -> str:
        key = tuple(countries.items())
        done = self._countries.get(key)
        if done is None:
            done = self._countries[key] = self.encode(dict(countries))
        return done


def _float(value: float) -> str:
    """As the json module writes a float: its repr, NaN and Infinity as JavaScript does."""
    if math.isfinite(value):
        return repr(value)
    return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
