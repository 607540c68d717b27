"""The bench's location in bytes: coordinate pairs near it, as decimals or E7 integers.

A coordinate is a decimal with at least two decimals (60.1699), or an E7
integer (601699000 = 60.1699 × 10⁷, as Android's location history and many
SDKs write it). Two coordinates of the same kind at most ``window`` bytes
apart are a pair, read as (lat, lon) or, as GeoJSON writes it, (lon, lat); a
pair within the bench's radius is a hit. A timestamp (1700000000 is 170.0 as
E7) never pairs with anything near a real bench.

Speed: this runs on every stream, so no regex scans bytes that hold no
candidate. They are translated once to a digit skeleton where a few literal
searches (``00.00`` for a two-digit integer part, seven digits for E7) say
whether any candidate is there at all. Only then do regexes whose integer part
is one of the whole degrees near the bench read on, in C: first whether the
text holds a number in the latitude band and one in the longitude band (a pair
needs both; text dense with numbers of one band only, as a decoded body can be,
costs a regex scan and no Python work per number), then every such number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from benches.inventory.models import Location

EARTH_RADIUS_KM = 6371.0088
LOCATION_WINDOW = 64  # bytes allowed between a latitude and its longitude
MAX_NUMBER = 20  # longest coordinate text: sign, 3 digits, point and up to 15 decimals
MIN_PAIR = 2 * len("0.00") + 1  # shortest pair text: two decimals and a byte between

# A coordinate is not part of a longer number or of a dotted version string:
# 60.1699 and -33.86, but not 1700000000.12 or 1.60.17; a decimal has at most 15
# decimals (more than a double holds), which bounds how far a match reaches.
# ``_decimal_pattern`` / ``_e7_pattern`` write these shapes for a set of degrees:
#   decimal  (?<![0-9.])-?<integer part>\.[0-9]{2,15}(?![0-9]|\.[0-9])
#   E7       (?<![0-9.])-?<integer part>[0-9]{7}(?![0-9]|\.[0-9])
_SKELETON = bytes(
    ord("0") if chr(b).isdigit() and b < 128 else b if b in b".-" else ord(" ") for b in range(256)
)


@dataclass(frozen=True)
class Coordinate:
    start: int
    end: int
    value: float


@dataclass(frozen=True)
class Pair:
    """Two coordinates near the bench: ``text`` is "first,second" as written."""

    start: int
    end: int
    text: str
    form: str  # "decimal" or "e7"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class _Bands:
    """A number's regex for each band's whole degrees: a latitude's, a longitude's, either's."""

    lat: re.Pattern[bytes]
    lon: re.Pattern[bytes]
    either: re.Pattern[bytes]

    @classmethod
    def of(
        cls, lat: set[int], lon: set[int], pattern: Callable[[set[int]], re.Pattern[bytes]]
    ) -> _Bands:
        return cls(pattern(lat), pattern(lon), pattern(lat | lon))


def _integer_parts(degrees: set[int], width: int) -> bytes:
    """An alternation of the integer parts a number of ``degrees`` can be written with,
    leading zeros included, at most ``width`` digits (longest first)."""
    parts = {"0" * zeros + str(d) for d in degrees for zeros in range(width - len(str(d)) + 1)}
    return "|".join(sorted(parts, key=lambda p: (-len(p), p))).encode("ascii")


def _decimal_pattern(degrees: set[int]) -> re.Pattern[bytes]:
    """A decimal whose integer part is one of ``degrees``."""
    return re.compile(
        rb"(?<![0-9.])-?(?:" + _integer_parts(degrees, 3) + rb")\.[0-9]{2,15}(?![0-9]|\.[0-9])"
    )


def _e7_pattern(degrees: set[int]) -> re.Pattern[bytes]:
    """An E7 integer whose integer part (the digits before the last seven) is one of
    ``degrees``; 0 may be written with no digit at all."""
    parts = _integer_parts(degrees, 3) + (b"|" if 0 in degrees else b"")
    return re.compile(rb"(?<![0-9.])-?(?:" + parts + rb")[0-9]{7}(?![0-9]|\.[0-9])")


class LocationFinder:
    """Finds coordinate pairs within ``bench.radius_km`` of the bench."""

    def __init__(self, bench: Location, window: int = LOCATION_WINDOW) -> None:
        self.bench = bench
        self.window = window
        # Degrees a coordinate may be off and still be near: a generous band,
        # the exact distance is checked on each pair.
        self.lat_band = math.degrees(bench.radius_km / EARTH_RADIUS_KM) + 1e-6
        widest = math.radians(min(89.9, abs(bench.lat) + self.lat_band))
        self.lon_band = min(180.0, self.lat_band / math.cos(widest))
        self.max_span = 2 * MAX_NUMBER + window
        # Whole degrees a coordinate near the bench can have (both bands,
        # either sign): a candidate whose integer part is not one of them is
        # dropped before any regex runs.
        self.degrees = _whole_degrees(bench.lat, self.lat_band) | _whole_degrees(
            bench.lon, self.lon_band
        )
        # A decimal's integer part has 1 to 3 digits, at least as many as the
        # smallest of those degrees (a leading zero may add some: 060.17).
        fewest = len(str(min(self.degrees)))
        self.decimal_needles = [b"0" * size + b".00" for size in range(fewest, 4)]
        # haversine <= radius  <=>  sin²(Δφ/2) + cos φ cos φ_b sin²(Δλ/2) <= sin²(r / 2R)
        half = min(math.pi / 2, bench.radius_km / (2 * EARTH_RADIUS_KM))
        self.term_bound = math.sin(half) ** 2 * (1 + 1e-9) + 1e-12
        self.bench_cos = math.cos(math.radians(bench.lat))
        lat_degrees = _whole_degrees(bench.lat, self.lat_band)
        lon_degrees = _whole_degrees(bench.lon, self.lon_band)
        self.decimal = _Bands.of(lat_degrees, lon_degrees, _decimal_pattern)
        self.e7 = _Bands.of(lat_degrees, lon_degrees, _e7_pattern)

    def find(self, data: bytes) -> list[Pair]:
        skeleton = data.translate(_SKELETON)
        pairs = self._pairs(data, self._decimals(data, skeleton), "decimal")
        pairs += self._pairs(data, self._e7(data, skeleton), "e7")
        return sorted(pairs, key=lambda p: p.start)

    def _decimals(self, data: bytes, skeleton: bytes) -> list[Coordinate]:
        first = min(
            (at for at in (skeleton.find(n) for n in self.decimal_needles) if at >= 0), default=-1
        )
        return [] if first < 0 else self._numbers(data, first, self.decimal, 1.0)

    def _e7(self, data: bytes, skeleton: bytes) -> list[Coordinate]:
        first = skeleton.find(b"0000000")
        return [] if first < 0 else self._numbers(data, first, self.e7, 1e7)

    def _numbers(self, data: bytes, first: int, bands: _Bands, scale: float) -> list[Coordinate]:
        """The numbers near the bench from ``first`` on (a candidate's place, its sign
        before it), none at all unless one can be a latitude and one a longitude."""
        start = max(0, first - 1)
        if bands.lat.search(data, start) is None or bands.lon.search(data, start) is None:
            return []
        found = []
        for match in bands.either.finditer(data, start):
            value = float(match.group()) / scale
            if self._in_band(value):
                found.append(Coordinate(match.start(), match.end(), value))
        return found

    def _in_band(self, value: float) -> bool:
        bench = self.bench
        if abs(value - bench.lat) <= self.lat_band:
            return True
        return abs((value - bench.lon + 180.0) % 360.0 - 180.0) <= self.lon_band

    def _pairs(self, data: bytes, numbers: list[Coordinate], form: str) -> list[Pair]:
        pairs = []
        used_until = -1
        # Haversine's terms for each number, as a latitude (inf: not in the band) and as a
        # longitude: a pair is near only if lat_term + cos(lat) * lon_term is within the
        # radius's bound (a little over, for rounding), which a few multiplications say;
        # haversine itself (``_near``) decides the pairs that pass.
        bound = self.term_bound
        lat_term, lat_cos, lon_term = self._terms(numbers)
        for i, first in enumerate(numbers):
            if first.start < used_until:
                continue
            for j in range(i + 1, len(numbers)):  # not numbers[i + 1 :]: a copy per number
                second = numbers[j]
                if second.start - first.end > self.window:
                    break
                if (
                    lat_term[i] + lat_cos[i] * lon_term[j] <= bound
                    and self._near(first.value, second.value)
                ) or (
                    lat_term[j] + lat_cos[j] * lon_term[i] <= bound
                    and self._near(second.value, first.value)
                ):
                    text = f"{_text(data, first)},{_text(data, second)}"
                    pairs.append(Pair(first.start, second.end, text, form))
                    used_until = second.end
                    break
        return pairs

    def _terms(self, numbers: list[Coordinate]) -> tuple[list[float], list[float], list[float]]:
        """Each number's sin²(Δφ/2) and cos(φ)·cos(φ_bench) as a latitude (inf and 0 out of
        the band), and sin²(Δλ/2) as a longitude (inf out of the band)."""
        bench, inf = self.bench, math.inf
        lat_term, lat_cos, lon_term = [], [], []
        for n in numbers:
            if abs(n.value - bench.lat) <= self.lat_band:
                lat_term.append(math.sin(math.radians(n.value - bench.lat) / 2) ** 2)
                lat_cos.append(math.cos(math.radians(n.value)) * self.bench_cos)
            else:
                lat_term.append(inf)
                lat_cos.append(0.0)
            off = (n.value - bench.lon + 180.0) % 360.0 - 180.0
            lon_term.append(
                math.sin(math.radians(off) / 2) ** 2 if abs(off) <= self.lon_band else inf
            )
        return lat_term, lat_cos, lon_term

    def _near(self, lat: float, lon: float) -> bool:
        if abs(lat) > 90 or abs(lon) > 180:
            return False
        bench = self.bench
        return haversine_km(lat, lon, bench.lat, bench.lon) <= bench.radius_km


def _whole_degrees(center: float, band: float) -> set[int]:
    """The integer parts of |v| for every coordinate v within ``band`` of ``center``."""
    low, high = center - band, center + band
    if low <= 0 <= high:
        return set(range(0, math.floor(max(-low, high)) + 1))
    low, high = sorted((abs(low), abs(high)))
    degrees = set(range(math.floor(low), math.floor(high) + 1))
    if high > 180:  # a longitude band across the antimeridian
        degrees |= set(range(math.floor(360 - high), 181))
    return degrees


def _text(data: bytes, number: Coordinate) -> str:
    return data[number.start : number.end].decode("ascii")
