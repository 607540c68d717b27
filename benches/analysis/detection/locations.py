"""The bench's location in bytes: coordinate pairs near it (decimals, E7, E6 or E5
integers, either order) and geohashes.

A coordinate is a decimal with at least two decimals (60.1699), or an integer of
the degrees times 10⁷, 10⁶ or 10⁵ (601699000, 60169900, 6016990 = 60.1699: E7 as
Android's location history writes it, E6 as many map SDKs do, E5 as polyline
libraries do). Two coordinates of the same form at most ``window`` bytes apart are a
pair, read as (lat, lon) or, as GeoJSON writes it, (lon, lat); a pair within the
bench's radius is a hit, named by its form ("decimal", "e7", "e6", "e5") and, when
the longitude comes first, "-lonlat" ("e7-lonlat"). A run of digits that reads as
near the bench in two integer forms is reported in the more precise one. A timestamp
(1700000000 is 170.0 as E7) never pairs with anything near a real bench. A geohash
(:mod:`~benches.analysis.detection.geohash`) is a hit on its own: "geohash".

Speed: this runs on every stream, so no regex scans bytes that hold no
candidate. One pass (:func:`~benches.analysis.detection.digits.number_places`:
``00.00`` for a two-digit integer part, seven digits in a row for an integer of
two-digit degrees) says whether any candidate is there at all. Only then do
regexes whose integer part is one of the whole degrees near the bench read on,
in C: first whether the text holds a number in the latitude band and one in the
longitude band (a pair needs both; text dense with numbers of one band only, as
a decoded body can be, costs a regex scan and no Python work per number), then
every such number. A geohash costs one regex pass that skips to the prefix its
cells around the bench share (:class:`~benches.analysis.detection.geohash.GeohashFinder`).

Work: text dense with numbers of both bands that never pair (``59.73,25.80,`` for a
bench at 60.17, 24.94: each in its band, every pair just outside the circle) is read
number by number, and each is tried against the ~11 that follow it in the window, in
Python: ~0.6 us a byte, half a minute for a decoded body of 64 MiB. A
:class:`PairingBudget` bounds that per flow: each number read and each pair tried
costs one unit; past :data:`PAIRING_WORK` the flow's location search stops and the
budget says so once (``on_spent``), for the flow to note it (the verdict is then
inconclusive: a location past it is never passed over in silence).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from benches.analysis.detection.digits import number_places
from benches.analysis.detection.geohash import MIN_PRECISION, GeohashFinder, centre
from benches.inventory.models import Location

EARTH_RADIUS_KM = 6371.0088
LOCATION_WINDOW = 64  # bytes allowed between a latitude and its longitude
MAX_NUMBER = 20  # longest coordinate text: sign, 3 digits, point and up to 15 decimals
MIN_PAIR = 2 * len("0.00") + 1  # shortest pair text: two decimals and a byte between
SHORTEST_HIT = min(MIN_PAIR, MIN_PRECISION)  # a geohash of six characters
# Units of location work one flow may spend (a number read or a pair tried, one each):
# a real flow's pairs take ~3 a pair (two numbers, one try), so this is some 700,000
# coordinate pairs; the near-miss bomb spends ~13 a number, ~2 MiB of it (~1-2 s).
PAIRING_WORK = 1 << 21
MAX_MARKS = 12  # whole degrees of a band looked for with bytes.find before its regex

# A coordinate is not part of a longer number or of a dotted version string:
# 60.1699 and -33.86, but not 1700000000.12 or 1.60.17; a decimal has at most 15
# decimals (more than a double holds), which bounds how far a match reaches.
# ``_decimal_pattern`` / ``_e7_pattern`` write these shapes for a set of degrees:
#   decimal  (?<![0-9.])-?<integer part>\.[0-9]{2,15}(?![0-9]|\.[0-9])
#   E7       (?<![0-9.])-?<integer part>[0-9]{7}(?![0-9]|\.[0-9])


@dataclass(frozen=True)
class Coordinate:
    start: int
    end: int
    value: float


@dataclass(frozen=True)
class Pair:
    """The bench's location in ``data[start:end]``: two coordinates near it, ``text``
    "first,second" as written, or one geohash (``text`` the code)."""

    start: int
    end: int
    text: str
    form: str  # how the numbers are written: "decimal", "e7", "e6", "e5"; or "geohash"
    lonlat: bool = False  # the longitude first ([lon, lat], as GeoJSON writes it)

    @property
    def name(self) -> str:
        """The form as a finding names it: "e7", "decimal-lonlat", "geohash", ..."""
        return f"{self.form}-lonlat" if self.lonlat else self.form


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


def _integer_pattern(degrees: set[int]) -> re.Pattern[bytes]:
    """An E7, E6 or E5 integer whose integer part (the digits before the last seven,
    six or five) is one of ``degrees``; 0 may be written with no digit at all. Which of
    the three a run of digits is, :meth:`LocationFinder._integers` decides."""
    parts = _integer_parts(degrees, 3) + (b"|" if 0 in degrees else b"")
    return re.compile(rb"(?<![0-9.])-?(?:" + parts + rb")[0-9]{5,7}(?![0-9]|\.[0-9])")


# Integer forms: the name and the digits after the whole degrees, most precise first
# (a run of digits read as two of them near the bench is reported as the first).
INTEGER_FORMS = (("e7", 7), ("e6", 6), ("e5", 5))


class PairingBudget:
    """One flow's units of location work (numbers read, pairs tried): what is left, and
    whom to tell, once, when it runs out."""

    __slots__ = ("allowance", "left", "on_spent")

    def __init__(
        self, allowance: int | None = None, on_spent: Callable[[], None] | None = None
    ) -> None:
        self.allowance = PAIRING_WORK if allowance is None else allowance
        self.left = self.allowance
        self.on_spent = on_spent

    @property
    def spent(self) -> bool:
        return self.left <= 0

    def charge(self, work: int) -> None:
        if self.left <= 0:
            return
        self.left -= work
        if self.left <= 0 and self.on_spent is not None:
            self.on_spent()


_UNLIMITED = 1 << 62


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
        # It holds that many digits, a point and two more: the first such place, or up
        # to two bytes before it (more digits, a sign), is where to start.
        fewest = len(str(min(self.degrees)))
        self.decimal_digits = fewest  # digits before the point (the needle 0.00, 00.00, ...)
        self.decimal_lead = 3 - fewest  # digits an integer part may have before the needle's
        # An integer has five to seven digits after its whole degrees (none for 0): a
        # bench whose degrees have two digits needs a run of seven, as E7 did alone.
        self.integer_run = (0 if 0 in self.degrees else fewest) + 5
        # haversine <= radius  <=>  sin²(Δφ/2) + cos φ cos φ_b sin²(Δλ/2) <= sin²(r / 2R)
        half = min(math.pi / 2, bench.radius_km / (2 * EARTH_RADIUS_KM))
        self.term_bound = math.sin(half) ** 2 * (1 + 1e-9) + 1e-12
        self.bench_cos = math.cos(math.radians(bench.lat))
        lat_degrees = _whole_degrees(bench.lat, self.lat_band)
        lon_degrees = _whole_degrees(bench.lon, self.lon_band)
        self.decimal = _Bands.of(lat_degrees, lon_degrees, _decimal_pattern)
        # "60." for each whole degree of a band: a decimal of the band holds one, and a
        # bytes.find is a tenth of a regex scan, which tries every offset (its lookbehind
        # comes first). None: too many degrees to be worth it (a wide band).
        self.decimal_marks = tuple(
            tuple(b"%d." % d for d in sorted(band)) if len(band) <= MAX_MARKS else None
            for band in (lat_degrees, lon_degrees)
        )
        self.integer = _Bands.of(lat_degrees, lon_degrees, _integer_pattern)
        self.geohash = GeohashFinder.around(
            bench.lat, bench.lon, self.lat_band, self.lon_band, bench.radius_km
        )

    def find(self, data: bytes, budget: PairingBudget | None = None) -> list[Pair]:
        """The pairs in ``data``; with a ``budget``, only as far as its work pays for (a
        spent budget finds nothing, and has said so)."""
        if budget is not None and budget.left <= 0:
            return []
        limit = _UNLIMITED if budget is None else budget.left
        decimal, integer = number_places(data, self.decimal_digits, self.integer_run)
        pairs: list[Pair] = []
        decimals = self._decimals(data, decimal, limit)
        work = len(decimals)
        work += self._pairs(data, decimals, "decimal", pairs, limit - work)
        if work < limit:
            work += self._integer_pairs(data, integer, pairs, limit - work)
        if work < limit:
            codes, read = self.geohash.codes(data, limit - work)
            if read:
                work += read
                pairs += [Pair(s, e, c, "geohash") for s, e, c in codes if self._cell_near(c)]
        if budget is not None and work:
            budget.charge(work)
        return sorted(pairs, key=lambda p: p.start)

    def _integer_pairs(self, data: bytes, first: int, pairs: list[Pair], limit: int) -> int:
        """Adds the E7, E6 and E5 pairs to ``pairs`` (a pair whose first or last number
        a more precise form paired already is left out), from ``first``, the first run of
        digits long enough (-1: none); returns the work done."""
        if first < 0:
            return 0
        runs, numbers = self._integers(data, first, limit)
        work = runs
        starts: set[int] = set()
        ends: set[int] = set()
        for form, _ in INTEGER_FORMS:
            found: list[Pair] = []
            work += self._pairs(data, numbers[form], form, found, limit - work)
            for pair in found:
                if pair.start not in starts and pair.end not in ends:
                    pairs.append(pair)
                    starts.add(pair.start)
                    ends.add(pair.end)
        return work

    def _integers(
        self, data: bytes, first: int, limit: int
    ) -> tuple[int, dict[str, list[Coordinate]]]:
        """The integers near the bench from ``first`` on, by form (a run of digits may
        be near as more than one), none unless one can be a latitude and one a
        longitude; and how many runs were read, at most ``limit``."""
        numbers: dict[str, list[Coordinate]] = {form: [] for form, _ in INTEGER_FORMS}
        bands = self.integer
        start = max(0, first - 1)
        if bands.lat.search(data, start) is None or bands.lon.search(data, start) is None:
            return 0, numbers
        runs = 0
        for match in bands.either.finditer(data, start):
            runs += 1
            text = match.group()
            whole = int(text)
            digits = len(text.lstrip(b"-"))
            for form, places in INTEGER_FORMS:
                if not places <= digits <= places + 3:
                    continue
                value = whole / 10**places
                if self._in_band(value):
                    numbers[form].append(Coordinate(match.start(), match.end(), value))
            if runs >= limit:
                break
        return runs, numbers

    def _cell_near(self, code: str) -> bool:
        lat, lon = centre(code)
        return self._near(lat, lon)

    def _decimals(self, data: bytes, first: int, limit: int) -> list[Coordinate]:
        """The decimals near the bench from ``first`` on, the first place that holds the
        fewest digits a near integer part has, a point and two digits (-1: none; longer
        integer parts hold it too)."""
        if first < 0:
            return []
        start = max(0, first - self.decimal_lead)
        for marks in self.decimal_marks:  # both bands need a number: else no regex scan
            if marks is not None and not any(data.find(m, start) >= 0 for m in marks):
                return []
        return self._numbers(data, start, self.decimal, 1.0, limit)

    def _numbers(
        self, data: bytes, first: int, bands: _Bands, scale: float, limit: int
    ) -> list[Coordinate]:
        """The numbers near the bench from ``first`` on (a candidate's place, its sign
        before it), none at all unless one can be a latitude and one a longitude; at
        most ``limit`` of them."""
        start = max(0, first - 1)
        if bands.lat.search(data, start) is None or bands.lon.search(data, start) is None:
            return []
        found: list[Coordinate] = []
        for match in bands.either.finditer(data, start):
            value = float(match.group()) / scale
            if self._in_band(value):
                found.append(Coordinate(match.start(), match.end(), value))
                if len(found) >= limit:
                    break
        return found

    def _in_band(self, value: float) -> bool:
        bench = self.bench
        if abs(value - bench.lat) <= self.lat_band:
            return True
        return abs((value - bench.lon + 180.0) % 360.0 - 180.0) <= self.lon_band

    def _pairs(
        self, data: bytes, numbers: list[Coordinate], form: str, pairs: list[Pair], limit: int
    ) -> int:
        """Adds the pairs of ``numbers`` to ``pairs``; returns the pairs tried, which stop
        once they reach ``limit``."""
        used_until = -1
        tried = 0
        # Haversine's terms for each number, as a latitude (inf: not in the band) and as a
        # longitude: a pair is near only if lat_term + cos(lat) * lon_term is within the
        # radius's bound (a little over, for rounding), which a few multiplications say;
        # haversine itself (``_near``) decides the pairs that pass.
        bound = self.term_bound
        lat_term, lat_cos, lon_term = self._terms(numbers)
        for i, first in enumerate(numbers):
            if first.start < used_until:
                continue
            if tried >= limit:
                break
            j = i
            for j in range(i + 1, len(numbers)):  # not numbers[i + 1 :]: a copy per number
                second = numbers[j]
                if second.start - first.end > self.window:
                    break
                if lat_term[i] + lat_cos[i] * lon_term[j] <= bound and self._near(
                    first.value, second.value
                ):
                    lonlat = False
                elif lat_term[j] + lat_cos[j] * lon_term[i] <= bound and self._near(
                    second.value, first.value
                ):
                    lonlat = True
                else:
                    continue
                text = f"{_text(data, first)},{_text(data, second)}"
                pairs.append(Pair(first.start, second.end, text, form, lonlat))
                used_until = second.end
                break
            tried += j - i
        return tried

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
