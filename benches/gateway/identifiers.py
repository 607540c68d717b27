"""Find the rack's device identifiers and the bench's location in bytes.

The identifiers become a flat list of :class:`IdentifierPattern`, one per
(device, identifier, encoding, written form). This issue has one encoding,
``plain`` ASCII text; a later encoding (hex, base64, URL-encoding, UTF-16,
hashes, ...) is one more function in :data:`ENCODINGS` that yields patterns
for a value, and nothing else changes.

Each pattern carries a lower-case ``literal`` that any match must contain,
so the matcher rejects a chunk with one fast substring test and only runs the
pattern's regex (which checks the surroundings) where the literal occurs.

Digits only match when no more digits surround them, so another device's
IMEI, a longer digit run or a prefix of an ICCID never count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from benches.inventory.models import Identity, Location, Rack

EARTH_RADIUS_KM = 6371.0088
LOCATION_WINDOW = 64  # bytes allowed between a latitude and its longitude


@dataclass(frozen=True)
class IdentifierPattern:
    device: str  # the device's serial (devices[].serial)
    kind: str  # "imei", "iccid", "imsi", "serial" or "wifi_mac"
    value: str  # the identifier as devices.yaml writes it
    encoding: str  # how the bytes spell it: "plain"
    literal: bytes  # lower-case bytes every match contains, starting at the match
    regex: re.Pattern[bytes]  # the match itself, with its boundary checks


@dataclass(frozen=True)
class Hit:
    """One identifier (or the bench's location) found in a chunk of bytes."""

    device: str | None  # whose identifier; None for a location
    kind: str  # identifier kind, or "location"
    value: str  # the identifier (raw, unmasked) or "lat,lon" as written
    encoding: str
    start: int  # offsets in the chunk searched
    end: int


Encoding = Callable[[str, str], Iterable[tuple[bytes, re.Pattern[bytes]]]]


def _digits(value: str) -> Iterator[tuple[bytes, re.Pattern[bytes]]]:
    literal = value.encode("ascii")
    yield literal, re.compile(rb"(?<![0-9])" + re.escape(literal) + rb"(?![0-9])")


def _alphanumeric(value: str) -> Iterator[tuple[bytes, re.Pattern[bytes]]]:
    literal = value.encode("utf-8").lower()  # bytes.lower() folds ASCII letters only
    body = re.escape(literal)
    yield literal, re.compile(rb"(?<![A-Za-z0-9])" + body + rb"(?![A-Za-z0-9])", re.IGNORECASE)


def _mac(value: str) -> Iterator[tuple[bytes, re.Pattern[bytes]]]:
    octets = re.findall(r"[0-9a-f]{2}", value.lower())
    for separator in (":", "-", ""):
        literal = separator.join(octets).encode("ascii")
        yield (
            literal,
            re.compile(
                rb"(?<![0-9A-Fa-f])(?<![0-9A-Fa-f][:-])"
                + re.escape(literal)
                + rb"(?![:-]?[0-9A-Fa-f])",
                re.IGNORECASE,
            ),
        )


def plain(kind: str, value: str) -> Iterable[tuple[bytes, re.Pattern[bytes]]]:
    """The identifier written as ASCII text, as a person or a JSON encoder would."""
    if kind in ("imei", "iccid", "imsi") and value.isdigit():
        return _digits(value)
    if kind == "wifi_mac" and _is_mac(value):
        return _mac(value)
    return _alphanumeric(value)


# Encoding name -> patterns for (kind, value). Later issues add more entries.
ENCODINGS: dict[str, Encoding] = {"plain": plain}


def identifier_patterns(
    rack: Rack, encodings: dict[str, Encoding] | None = None
) -> tuple[IdentifierPattern, ...]:
    """Patterns for every identifier of every device on the rack."""
    patterns = []
    for device in rack.devices:
        for kind, value in _identifiers(device.identity):
            for name, encode in (encodings or ENCODINGS).items():
                for literal, regex in encode(kind, value):
                    patterns.append(
                        IdentifierPattern(device.serial, kind, value, name, literal, regex)
                    )
    return tuple(patterns)


def _identifiers(identity: Identity) -> Iterator[tuple[str, str]]:
    for imei in identity.imei:
        yield "imei", imei
    others = {
        "iccid": identity.iccid,
        "imsi": identity.imsi,
        "serial": identity.serial,
        "wifi_mac": identity.wifi_mac,
    }
    for kind, value in others.items():
        if value:
            yield kind, value


def _is_mac(value: str) -> bool:
    return (
        re.fullmatch(r"[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}", value)
        is not None
    )


def find_identifiers(data: bytes, patterns: Sequence[IdentifierPattern]) -> list[Hit]:
    """Every occurrence of every pattern in ``data``, in offset order."""
    lowered = data.lower()
    hits = []
    for pattern in patterns:
        position = lowered.find(pattern.literal)
        while position >= 0:
            match = pattern.regex.match(data, position)
            if match is not None:
                hits.append(
                    Hit(
                        pattern.device,
                        pattern.kind,
                        pattern.value,
                        pattern.encoding,
                        match.start(),
                        match.end(),
                    )
                )
            position = lowered.find(pattern.literal, position + 1)
    return sorted(hits, key=lambda h: (h.start, h.end))


# --- location --------------------------------------------------------------

# A decimal number with at least two decimals, not part of a longer number or
# a dotted version string: 60.1699, -33.86, but not 1700000000.12 or 1.60.17.
_COORDINATE = re.compile(rb"(?<![0-9.])-?[0-9]{1,3}\.[0-9]{2,}(?![0-9]|\.[0-9])")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def find_locations(data: bytes, bench: Location, window: int = LOCATION_WINDOW) -> list[Hit]:
    """Coordinate pairs within ``bench.radius_km`` of the bench.

    A pair is two decimal numbers at most ``window`` bytes apart, read as
    (lat, lon) or, as GeoJSON writes it, (lon, lat).
    """
    numbers = [(m.start(), m.end(), float(m.group())) for m in _COORDINATE.finditer(data)]
    hits = []
    used_until = -1
    for i, (start, end, first) in enumerate(numbers):
        if start < used_until:
            continue
        for second_start, second_end, second in numbers[i + 1 :]:
            if second_start - end > window:
                break
            if _near(first, second, bench) or _near(second, first, bench):
                value = f"{_text(data, start, end)},{_text(data, second_start, second_end)}"
                hits.append(Hit(None, "location", value, "plain", start, second_end))
                used_until = second_end
                break
    return hits


def _near(lat: float, lon: float, bench: Location) -> bool:
    if abs(lat) > 90 or abs(lon) > 180:
        return False
    return haversine_km(lat, lon, bench.lat, bench.lon) <= bench.radius_km


def _text(data: bytes, start: int, end: int) -> str:
    return data[start:end].decode("ascii")
