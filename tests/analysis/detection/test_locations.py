"""The bench's location: decimal pairs as before, and E7 integers (lat × 10⁷, lon × 10⁷)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.detector import Detector
from benches.analysis.detection.identifiers import find_locations
from benches.analysis.detection.locations import LocationFinder, PairingBudget, haversine_km
from benches.inventory.models import Location
from tests.support.pcaps import make_rack

DETECTOR = Detector(make_rack())
HELSINKI = Location(60.1699, 24.9384, 50.0)


def pairs(data: bytes) -> list[tuple[str, str]]:
    return [(h.value, h.form) for h in DETECTOR.scan(data) if h.kind == "location"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"latitudeE7":601699000,"longitudeE7":249384000}', [("601699000,249384000", "e7")]),
        (b"[249384000,601699000]", [("249384000,601699000", "e7-lonlat")]),  # GeoJSON order
        (b"loc=601700000;249400000", [("601700000,249400000", "e7")]),
        (b'{"lat":60.1699,"lon":24.9384}', [("60.1699,24.9384", "decimal")]),
        (b"601699000,24.9384", []),  # one of each kind is no pair
        (b"601699000" + b" " * 70 + b"249384000", []),  # too far apart
        (b"6016990000,249384000", []),  # ten digits: 601.7 degrees
        (b"601699000.5,249384000", []),  # not an integer
    ],
)
def test_e7_pairs(data: bytes, expected: list[tuple[str, str]]) -> None:
    assert pairs(data) == expected


def test_hit_offsets_span_the_pair_as_written() -> None:
    data = b'x{"lat":601699000,"lon":249384000}'
    (hit,) = DETECTOR.scan(data)
    assert data[hit.start : hit.end] == b'601699000,"lon":249384000'
    assert (hit.device, hit.kind, hit.encoding) == (None, "location", "plain")


def test_southern_and_western_benches() -> None:
    sydney = LocationFinder(Location(-33.8688, 151.2093, 50.0))
    assert [p.text for p in sydney.find(b"[-338688000,1512093000]")] == ["-338688000,1512093000"]
    assert [p.text for p in sydney.find(b"lat=-33.87&lon=151.21")] == ["-33.87,151.21"]
    quito = LocationFinder(Location(-0.1807, -78.4678, 50.0))
    assert [p.text for p in quito.find(b"[-1807000,-784678000]")] == ["-1807000,-784678000"]
    assert [p.text for p in quito.find(b"(-0.18, -78.47)")] == ["-0.18,-78.47"]


def test_a_bench_on_the_antimeridian() -> None:
    fiji = LocationFinder(Location(-16.5, 179.9, 50.0))
    assert [p.text for p in fiji.find(b"-16.50,-179.95")] == ["-16.50,-179.95"]


def test_find_locations_keeps_its_signature() -> None:
    hits = find_locations(b"60.17,24.94 and 601700000,249400000", HELSINKI)
    assert [(h.value, h.form) for h in hits] == [
        ("60.17,24.94", "decimal"),
        ("601700000,249400000", "e7"),
    ]


def test_leading_zeros_as_before() -> None:
    assert [(h.value, h.form) for h in DETECTOR.scan(b"060.1699,024.9384")] == [
        ("060.1699,024.9384", "decimal")
    ]


# The detector before E7: every decimal found by one regex, then paired. The
# new finder must agree with it on decimals (up to 15 decimals).
_OLD = re.compile(rb"(?<![0-9.])-?[0-9]{1,3}\.[0-9]{2,}(?![0-9]|\.[0-9])")


def old_pairs(data: bytes, bench: Location = HELSINKI, window: int = 64) -> list[str]:
    numbers = [(m.start(), m.end(), float(m.group())) for m in _OLD.finditer(data)]
    found, used_until = [], -1
    for i, (start, end, first) in enumerate(numbers):
        if start < used_until:
            continue
        for second_start, second_end, second in numbers[i + 1 :]:
            if second_start - end > window:
                break
            if _near(first, second, bench) or _near(second, first, bench):
                found.append(f"{data[start:end].decode()},{data[second_start:second_end].decode()}")
                used_until = second_end
                break
    return found


def _near(lat: float, lon: float, bench: Location) -> bool:
    if abs(lat) > 90 or abs(lon) > 180:
        return False
    return haversine_km(lat, lon, bench.lat, bench.lon) <= bench.radius_km


NUMBERS = st.one_of(
    st.sampled_from(["60.1699", "24.9384", "60.17", "24.94", "-60.17", "060.2", "59.9", "25.0"]),
    st.floats(min_value=-200, max_value=200, allow_nan=False).map(
        lambda f: f"{f:.{2 + int(abs(f)) % 6}f}"
    ),
    st.integers(min_value=0, max_value=10**12).map(str),
)
GLUE = st.sampled_from([",", ", ", '","lon":', ";", " ", ".", "x" * 30, "-", "1.", "\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NUMBERS, GLUE), max_size=12))
def test_decimals_as_the_old_detector_found_them(parts: list[tuple[str, str]]) -> None:
    data = "".join(number + glue for number, glue in parts).encode()
    assert [
        p.text for p in LocationFinder(HELSINKI).find(data) if p.form == "decimal"
    ] == old_pairs(data)


def test_dense_numbers_near_the_bench_cost_linear_work() -> None:
    """Text packed with numbers near the bench (a decoded bomb can be 64 MiB of it): 8
    times the bytes costs about 8 times the work (numbers read, pairs tried), not 64 (every
    number tried against every later one, not just those in its window). Counted by the
    finder's budget, not timed: a wall-clock ratio fails on a busy machine; the lines run
    per shape are counted by tests/analysis/test_time_fuzz.py."""
    finder = LocationFinder(HELSINKI)

    def work(data: bytes) -> int:
        budget = PairingBudget(1 << 40)
        assert finder.find(data, budget) == []
        return budget.allowance - budget.left

    for unit in (b"59.73,25.80,", b"597300000,258000000,"):  # both bands, never a pair
        small, large = unit * 5_000, unit * 40_000
        assert work(small) > 0
        assert work(large) <= 9 * work(small)  # 8x and the edges; all pairs tried: 64x
    # One band only: no number is read one by one at any size (no pair can be made).
    assert work(b"60.169912345," * 40_000) == 0


def test_numbers_of_one_band_only_are_not_read_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A decoded body of nothing but latitudes near the bench (the coords bomb: 64 MiB
    of "60.169912345,") holds no pair: no number of it is read in Python (each was
    ~0.3 us, 20-30 s per bomb). Counted, not timed. With one longitude after them, every
    number is read and the pair is found."""
    finder = LocationFinder(HELSINKI)
    read: list[float] = []
    in_band = LocationFinder._in_band
    monkeypatch.setattr(
        LocationFinder, "_in_band", lambda self, value: read.append(value) or in_band(self, value)
    )
    latitudes = b"60.169912345," * 20_000 + b"601699123," * 20_000
    assert finder.find(latitudes) == []
    assert read == []
    found = finder.find(
        latitudes + b" " * 80 + b"60.1699,24.9384 " + b" " * 80 + b"601699000,249384000"
    )
    assert [(p.text, p.form) for p in found][-2:] == [
        ("60.1699,24.9384", "decimal"),
        ("601699000,249384000", "e7"),
    ]
    assert len(read) > 40_000


def test_pairing_work_is_bounded_by_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Numbers of both bands that never pair (the near-miss bomb, 59.73 and 25.80 around
    Helsinki): each is read and tried against its neighbours. A PairingBudget stops the
    reading at its allowance (counted: numbers read), says so once, and a spent budget
    reads nothing more; the budget's charge is the numbers read and the pairs tried."""
    finder = LocationFinder(HELSINKI)
    read: list[float] = []
    in_band = LocationFinder._in_band
    monkeypatch.setattr(
        LocationFinder, "_in_band", lambda self, value: read.append(value) or in_band(self, value)
    )
    near_misses = b"59.73,25.80," * 5_000  # 10,000 numbers
    location = b" " * 80 + b"60.1699,24.9384"  # out of the last near miss's window
    told: list[int] = []
    budget = PairingBudget(3_000, on_spent=lambda: told.append(1))
    assert finder.find(near_misses, budget) == []
    assert len(read) <= 3_000 and budget.spent and told == [1]
    read.clear()
    assert finder.find(near_misses + location, budget) == []
    assert read == [] and told == [1]
    whole = PairingBudget(1_000_000)
    found = finder.find(near_misses + location, whole)
    assert [p.text for p in found] == ["60.1699,24.9384"]
    assert 10_002 < 1_000_000 - whole.left < 16 * 10_002 and not whole.spent  # ~13 a number
