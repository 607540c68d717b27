"""Geohashes (base32 cells of the globe) near the bench: what to look for, and where a code lies.

A geohash interleaves the bits of a longitude and a latitude, longitude first, five
to a character of ``0123456789bcdefghjkmnpqrstuvwxyz`` (no a, i, l, o); each
character halves the cell two or three more times. Precision 6 is a cell of about
1.2 x 0.6 km, 5 about 4.9 x 4.9 km, 4 about 39 x 20 km.

What counts as the bench's location (:class:`GeohashFinder`):

- a code of at least :attr:`GeohashFinder.shortest` characters: 6 (issue 13), or more
  when the bench's radius is so small that a cell of 6 is not much smaller than the
  circle (the code must say "within the radius", not "somewhere in a cell larger than
  it"): the fewest characters whose cell's diagonal is at most the radius;
- at most 12 characters (no geohash library writes more: a longer run of the
  alphabet is some other token);
- lower case, delimited: the bytes on both sides are not ASCII letters or digits (a
  geohash inside a longer word or token is not read);
- its cell's centre within the radius.

A random word of the alphabet, delimited, is read as near the bench with the odds of
a random cell falling in the circle: the circle's area over the earth's (1.5e-5 for
50 km), times (2/π)/cos(lat) as cells are even in degrees, not in km²: 2e-5 at
Helsinki (measured: 47 of 2,000,000 random words of 6 to 12 characters, one in
50,000). That cannot be lowered
without missing real geohashes, whose characters are as random as any; the
delimiters and the length (6 to 12) keep it to tokens that could be a geohash.

Speed: the cells of a few characters (``needles``) that cover the circle's bounding
box are searched in one regex pass that skips to their common prefix (C), and only
where a whole delimited code is found does Python read it (work paid for out of the
flow's :class:`~benches.analysis.detection.locations.PairingBudget`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
_VALUES = {char: index for index, char in enumerate(ALPHABET)}
MIN_PRECISION = 6  # issue 13: about 1.2 km
MAX_PRECISION = 12  # the most any geohash library writes
MAX_NEEDLES = 8  # cells searched for literally: the longest prefix with at most this many
EARTH_KM_PER_DEGREE = 6371.0088 * math.pi / 180


def cell_size(precision: int) -> tuple[float, float]:
    """(degrees of latitude, degrees of longitude) of a cell of ``precision`` characters."""
    bits = 5 * precision
    return 180.0 / 2 ** (bits // 2), 360.0 / 2 ** ((bits + 1) // 2)


def encode(lat: float, lon: float, precision: int) -> str:
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    chars: list[str] = []
    value, bit, even = 0, 0, True
    while len(chars) < precision:
        span, coordinate = (lon_range, lon) if even else (lat_range, lat)
        middle = (span[0] + span[1]) / 2
        value <<= 1
        if coordinate >= middle:
            value |= 1
            span[0] = middle
        else:
            span[1] = middle
        even = not even
        bit += 1
        if bit == 5:
            chars.append(ALPHABET[value])
            value = bit = 0
    return "".join(chars)


def centre(code: str) -> tuple[float, float]:
    """(lat, lon) of the middle of the cell ``code`` names (lower case, valid)."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    even = True
    for char in code:
        value = _VALUES[char]
        for shift in range(4, -1, -1):
            span = lon_range if even else lat_range
            middle = (span[0] + span[1]) / 2
            if value >> shift & 1:
                span[0] = middle
            else:
                span[1] = middle
            even = not even
    return (lat_range[0] + lat_range[1]) / 2, (lon_range[0] + lon_range[1]) / 2


def covering(
    lat_low: float, lat_high: float, lon_low: float, lon_high: float, precision: int
) -> set[str]:
    """The cells of ``precision`` characters that meet the box (longitudes may pass
    the antimeridian: lon_high > 180 or lon_low < -180)."""
    lat_step, lon_step = cell_size(precision)
    lat_low, lat_high = max(lat_low, -90.0), min(lat_high, 90.0 - 1e-9)
    cells = set()
    lat = lat_low
    while True:
        lon = lon_low
        while True:
            wrapped = (lon + 180.0) % 360.0 - 180.0
            cells.add(encode(min(lat, lat_high), wrapped, precision))
            if lon >= lon_high:
                break
            lon = min(lon + lon_step, lon_high)
        if lat >= lat_high:
            break
        lat = min(lat + lat_step, lat_high)
    return cells


def shortest_code(radius_km: float) -> int:
    """The fewest characters (at least 6) whose cell's diagonal, at the equator where
    cells are widest, is at most ``radius_km``: such a code says "within the radius"."""
    for precision in range(MIN_PRECISION, MAX_PRECISION + 1):
        lat_step, lon_step = cell_size(precision)
        if math.hypot(lat_step, lon_step) * EARTH_KM_PER_DEGREE <= radius_km:
            return precision
    return MAX_PRECISION


@dataclass(frozen=True)
class GeohashFinder:
    """Geohashes whose cell's centre lies in a box of latitudes and longitudes (the
    bench's bands); the caller decides the exact distance."""

    needles: tuple[bytes, ...]
    shortest: int
    search: re.Pattern[bytes] = field(init=False, repr=False, compare=False)
    prefix: bytes = field(init=False, repr=False, compare=False)  # all needles start so

    def __post_init__(self) -> None:
        object.__setattr__(self, "search", _code_pattern(self.needles, self.shortest))
        object.__setattr__(self, "prefix", _common_prefix(self.needles))

    @classmethod
    def around(
        cls, lat: float, lon: float, lat_band: float, lon_band: float, radius_km: float
    ) -> GeohashFinder:
        shortest = shortest_code(radius_km)
        box = (lat - lat_band, lat + lat_band, lon - lon_band, lon + lon_band)
        needles = covering(*box, 1)
        for precision in range(2, shortest + 1):
            cells = covering(*box, precision)
            if len(cells) > MAX_NEEDLES:
                break
            needles = cells
        return cls(tuple(sorted(c.encode("ascii") for c in needles)), shortest)

    def codes(self, data: bytes, limit: int) -> tuple[list[tuple[int, int, str]], int]:
        """(start, end, code) of every delimited code of ``shortest`` to 12 characters
        that begins with a needle, in offset order, at most ``limit`` of them; and how
        many were read (work: each costs Python)."""
        found: list[tuple[int, int, str]] = []
        # bytes.find skips to the prefix five times faster than the regex engine does.
        at = data.find(self.prefix) if self.prefix else 0
        first = self.search.search(data, at) if at >= 0 else None  # most data holds none
        if first is None:
            return found, 0
        for match in self.search.finditer(data, first.start()):
            if len(found) >= limit:
                break
            found.append((match.start(), match.end(), match.group().decode("ascii")))
        return found, len(found)


def _code_pattern(needles: tuple[bytes, ...], shortest: int) -> re.Pattern[bytes]:
    """A delimited code that begins with one of ``needles`` (all of one length).

    One pass in C over the data: the needles' common prefix comes first, a literal
    the regex engine skips to (a third of a nanosecond a byte; a ``bytes.find`` per
    needle costs more), and the byte before the code is checked after it (a
    lookbehind first would make the engine try every offset).
    """
    prefix = _common_prefix(needles)
    rests = b"|".join(re.escape(n[len(prefix) :]) for n in needles)
    known = len(needles[0])
    code = rb"[0-9b-hjkmnp-z]{%d,%d}" % (max(0, shortest - known), MAX_PRECISION - known)
    return re.compile(
        re.escape(prefix)
        + b"(?:"
        + rests
        + rb")(?<![0-9A-Za-z][\s\S]{%d})" % known
        + code
        + rb"(?![0-9A-Za-z])"
    )


def _common_prefix(needles: tuple[bytes, ...]) -> bytes:
    prefix = needles[0] if needles else b""
    while not all(n.startswith(prefix) for n in needles):
        prefix = prefix[:-1]
    return prefix
