"""The bench's location in more forms (issue 13): E6 and E5 integers, geohashes, and
pairs written longitude first; each named in the hit, each with its clean traps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection import geohash
from benches.analysis.detection.detector import Detector
from benches.analysis.detection.locations import LocationFinder, PairingBudget, haversine_km
from benches.inventory.models import Location
from tests.support.pcaps import make_rack

DETECTOR = Detector(make_rack())
HELSINKI = Location(60.1699, 24.9384, 50.0)
FINDER = LocationFinder(HELSINKI)
HERE = geohash.encode(60.1699, 24.9384, 12)  # ud9wr3xe...


def named(data: bytes) -> list[tuple[str, str]]:
    return [(h.value, h.form) for h in DETECTOR.scan(data) if h.kind == "location"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"latE6":60169900,"lngE6":24938400}', [("60169900,24938400", "e6")]),
        (b'{"lat":6016990,"lon":2493840}', [("6016990,2493840", "e5")]),
        (b"[24938400,60169900]", [("24938400,60169900", "e6-lonlat")]),
        (b"[2493840,6016990]", [("2493840,6016990", "e5-lonlat")]),
        (b"[24.9384,60.1699]", [("24.9384,60.1699", "decimal-lonlat")]),
        (b"[249384000,601699000]", [("249384000,601699000", "e7-lonlat")]),
        (b'{"lat":601699000,"lon":249384000}', [("601699000,249384000", "e7")]),
        (b"lat=60.1699&lon=24.9384", [("60.1699,24.9384", "decimal")]),
        (b"-60169900,24938400", []),  # the southern hemisphere
        (b"60169900,-24938400", []),  # the western one
        (b"59329300,18068600 5932930,1806860", []),  # Stockholm, 400 km away
        (b"6016990,24938400", []),  # an E5 and an E6 are no pair
        (b"60169900.5,24938400", []),  # not an integer
        (b"1234567,7654321 12345678,87654321 1700000000,1700000001", []),  # out of the band
        (b"60169900," + b" " * 70 + b"24938400", []),  # too far apart
    ],
)
def test_integer_and_swapped_forms(data: bytes, expected: list[tuple[str, str]]) -> None:
    assert named(data) == expected


@pytest.mark.parametrize("precision", range(6, 13))
def test_a_geohash_of_the_bench_at_each_precision(precision: int) -> None:
    code = HERE[:precision]
    for data in (
        f'"{code}"',
        f"gh={code}&",
        f"{code}",
        f"[{code}]",
        f"geo:{code}\n",
        f"gh_{code}-x",
    ):
        assert named(data.encode()) == [(code, "geohash")], data


@pytest.mark.parametrize(
    "data",
    [
        HERE[:5],  # 4.9 km cell: fewer characters than a location needs
        HERE[:13] + "0",  # 14 characters: no geohash is that long
        "x" + HERE[:8],  # inside a token
        HERE[:8] + "X",
        HERE[:8].upper(),  # geohashes are written in lower case
        geohash.encode(59.3293, 18.0686, 9),  # Stockholm
        geohash.encode(60.1699, 26.0, 9),  # 58 km east
        "sunset between the descent",  # words of the alphabet
    ],
)
def test_geohash_traps(data: str) -> None:
    assert named(data.encode()) == []


def test_a_small_radius_needs_a_longer_geohash() -> None:
    """A cell must be smaller than the circle: 1.2 km cells say nothing of a 1 km radius."""
    assert geohash.shortest_code(50.0) == 6
    assert geohash.shortest_code(1.0) == 7
    assert geohash.shortest_code(0.1) == 8
    small = LocationFinder(Location(60.1699, 24.9384, 1.0))
    assert small.find(HERE[:6].encode()) == []
    assert [p.text for p in small.find(HERE[:7].encode())] == [HERE[:7]]


def test_geohash_needles_are_few_and_cover_the_circle() -> None:
    assert FINDER.geohash.needles == (b"ud9", b"udc", b"udd", b"udf")
    fiji = LocationFinder(Location(-16.5, 179.9, 50.0))  # across the antimeridian
    code = geohash.encode(-16.5, -179.9, 8)
    assert [p.text for p in fiji.find(f"[{code}]".encode())] == [code]


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0, max_value=2 * math.pi),
    st.floats(min_value=0, max_value=120),
    st.integers(min_value=6, max_value=12),
)
def test_a_geohash_is_found_exactly_when_its_cell_is_near(
    bearing: float, km: float, precision: int
) -> None:
    lat = HELSINKI.lat + km / 111.2 * math.cos(bearing)
    lon = HELSINKI.lon + km / 111.2 * math.sin(bearing) / math.cos(math.radians(lat))
    code = geohash.encode(lat, lon, precision)
    centre = geohash.centre(code)
    near = haversine_km(*centre, HELSINKI.lat, HELSINKI.lon) <= HELSINKI.radius_km
    assert [p.text for p in FINDER.find(f" {code} ".encode())] == ([code] if near else [])
    lat_step, lon_step = geohash.cell_size(precision)
    assert abs(centre[0] - lat) <= lat_step / 2 and abs(centre[1] - lon) <= lon_step / 2


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=geohash.ALPHABET, min_size=6, max_size=12))
def test_random_base32_words_are_near_only_when_their_cell_is(word: str) -> None:
    near = haversine_km(*geohash.centre(word), HELSINKI.lat, HELSINKI.lon) <= 50.0
    assert bool(FINDER.find(f'"{word}"'.encode())) == near


def test_geohash_candidates_are_paid_for() -> None:
    """Text dense with delimited codes in the cells around the bench but outside the
    circle (a bomb of them) is read code by code in Python: the flow's pairing
    budget pays for each and stops the reading. Needles that are no delimited code
    ("ud9 ") are left out in C and cost nothing."""
    far = geohash.encode(60.6, 25.8, 8)  # the bands' corner: 68 km away
    assert far.encode()[:3] in FINDER.geohash.needles and FINDER.find(far.encode()) == []
    budget = PairingBudget(1_000)
    assert FINDER.find(b"ud9 xud9wr3xe " * 100_000, budget) == [] and budget.left == 1_000
    assert FINDER.find((far.encode() + b" ") * 100_000, budget) == [] and budget.spent


def test_integer_forms_are_paid_for() -> None:
    budget = PairingBudget(1_000)
    assert FINDER.find(b"5973000,2580000," * 10_000, budget) == [] and budget.spent
    assert FINDER.find(b"6016990,2493840", budget) == []  # spent: nothing more is read


def test_a_geohash_alone_is_long_enough_to_be_searched() -> None:
    """Pieces shorter than the shortest hit are not searched (a TLS record header between
    ciphertext): a geohash of six characters is a hit, so six bytes are searched."""
    assert DETECTOR.shortest <= 6
