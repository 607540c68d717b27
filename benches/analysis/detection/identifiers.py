"""Find the rack's device identifiers and the bench's location in bytes.

The work is done by :class:`benches.analysis.detection.detector.Detector`: every form
(:mod:`~benches.analysis.detection.forms`) of every identifier in every encoding
(:mod:`~benches.analysis.detection.encodings`) in one automaton, and coordinate pairs
(:mod:`~benches.analysis.detection.locations`). This module keeps the functions the
analyzer has always called, on top of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from benches.analysis.detection.detector import (
    Detector,
    DetectorStreamScanner,
    Hit,
    IdentifierPattern,
    LocationPattern,
    location_hits,
    matcher_for,
    rack_patterns,
)
from benches.analysis.detection.encodings import ENCODINGS
from benches.analysis.detection.locations import (
    EARTH_RADIUS_KM,
    LOCATION_WINDOW,
    LocationFinder,
    haversine_km,
)
from benches.inventory.models import Location, Rack

__all__ = [
    "EARTH_RADIUS_KM",
    "ENCODINGS",
    "LOCATION_WINDOW",
    "Detector",
    "Hit",
    "IdentifierPattern",
    "LocationPattern",
    "DetectorStreamScanner",
    "find_identifiers",
    "find_locations",
    "haversine_km",
    "identifier_patterns",
]


def identifier_patterns(rack: Rack) -> tuple[IdentifierPattern, ...]:
    """Patterns for every identifier of every device on the rack (the same tuple per rack)."""
    return rack_patterns(rack)


def find_identifiers(data: bytes, patterns: Sequence[IdentifierPattern]) -> list[Hit]:
    """Every identifier in ``data``, in offset order (its end counts as the end of the text)."""
    return matcher_for(tuple(patterns)).find(data)


def find_locations(data: bytes, bench: Location, window: int = LOCATION_WINDOW) -> list[Hit]:
    """Coordinate pairs within ``bench.radius_km`` of the bench, decimal or E7."""
    return list(location_hits(_finder(bench, window), data))


@lru_cache(maxsize=8)
def _finder(bench: Location, window: int) -> LocationFinder:
    return LocationFinder(bench, window)
