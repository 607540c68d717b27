"""Datagrams searched together find exactly what each finds alone, across every boundary."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.datagrams import Datagrams
from benches.analysis.detection.detector import Detector
from tests.support.pcaps import ICCID, IMEI, IMSI, SERIAL, make_rack

DETECTOR = Detector(make_rack())
PIECES = [
    IMEI.encode(),
    ICCID.encode(),
    IMSI.encode(),
    SERIAL.encode(),
    b"60.1699",
    b"24.9384",
    b"0123456789",
    b"abc",
    b"-",
    b"\\u0033",
    b"%33",
    IMEI.encode()[:8],
    IMEI.encode()[8:],
]


def alone(datagrams: list[bytes]) -> set[int]:
    return {i for i, d in enumerate(datagrams) if DETECTOR.scan(d)}


def batched(datagrams: list[bytes]) -> set[int]:
    batch: Datagrams[str] = Datagrams(DETECTOR)
    for index, datagram in enumerate(datagrams):
        batch.add("flow", index, datagram, index)
    return {offset for _, offset, _, _ in batch.take()}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(PIECES) | st.binary(max_size=8), min_size=1, max_size=6).map(
            b"".join
        ),
        min_size=2,
        max_size=8,
    )
)
def test_the_batch_never_misses_what_a_datagram_alone_shows(datagrams: list[bytes]) -> None:
    assert alone(datagrams) <= batched(datagrams)


def test_nothing_spans_two_datagrams() -> None:
    halves = [b"imei=" + IMEI.encode()[:7], IMEI.encode()[7:] + b"&"]
    assert alone(halves) == set()
    assert batched(halves) == set()
    pair = [b'{"lat":60.1699,', b'"lon":24.9384}']  # a location split in two
    assert batched(pair) == set()


def test_a_match_at_the_very_end_of_a_datagram_is_found() -> None:
    datagrams = [b"x" * 40 + IMEI.encode(), b"7" + b"y" * 40]  # a digit right after it
    assert alone(datagrams) == batched(datagrams) == {0}


def test_one_datagram_is_searched_alone() -> None:
    batch: Datagrams[str] = Datagrams(DETECTOR)
    batch.add("flow", 0, b"nothing here", 1)
    assert batch.take() == [("flow", 0, b"nothing here", 1)]
    assert batch.take() == []
