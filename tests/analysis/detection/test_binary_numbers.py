"""An IMEI, IMSI or ICCID sent as a binary number (issue 13): its varint, zig-zag varint
and int64 forms, which are kept only when long enough not to fire by chance, and the
false-positive rate measured on seeded random data."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.detector import (
    MIN_BINARY_NUMBER,
    Detector,
    _number_anchors,
    rack_patterns,
)
from benches.analysis.detection.encodings import BINARY_NUMBERS, binary_numbers, varint
from benches.analysis.detection.forms import forms
from benches.analysis.detection.needles import ALIGN, SHORTEST, WIDTH
from benches.inventory.loader import load_rack
from tests.support.paths import REPO
from tests.support.pcaps import IMEI, IMSI, make_rack

RACK20 = load_rack(REPO / "benchmarks" / "rack20.yaml")
MIB = 1 << 20
PATTERNS = rack_patterns(make_rack())
DETECTOR = Detector(make_rack())


def encoded(kind: str, value: str, form: str) -> dict[str, bytes]:
    [wanted] = [f for f in forms(kind, value) if f.name == form]
    return {e.encoding: e.literal for e in binary_numbers(wanted)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "00"), (1, "01"), (150, "9601"), (300, "ac02"), ((1 << 64) - 1, "ff" * 9 + "01")],
)
def test_varint_matches_the_protobuf_documentation(value: int, expected: str) -> None:
    # protobuf.dev/programming-guides/encoding: 150 is 96 01
    assert varint(value).hex() == expected


def test_an_imei_has_four_binary_forms() -> None:
    number = int(IMEI)
    assert encoded("imei", IMEI, "imei-15") == {
        "protobuf-varint": varint(number),
        "protobuf-zigzag": varint(2 * number),
        "int64-be": number.to_bytes(8, "big"),
        "int64-le": number.to_bytes(8, "little"),
    }
    assert len(varint(number)) == 7  # 3.5e14 < 2^49: seven 7-bit groups, 56 bits


def test_a_20_digit_iccid_has_no_64_bit_form_but_its_first_19_digits_do() -> None:
    iccid = "89358051000000000111"
    assert int(iccid) >= 1 << 64
    assert encoded("iccid", iccid, "iccid") == {}
    assert set(encoded("iccid", iccid, "iccid-19")) == set(BINARY_NUMBERS)


def test_only_whole_numbers_have_binary_forms() -> None:
    grouped = [f for f in forms("imei", IMEI) if f.name in ("imei-2-6-6-1", "imeisv")]
    assert grouped and all(binary_numbers(f) == [] for f in grouped)
    assert all(binary_numbers(f) == [] for f in forms("serial", "SIM7P0001"))


def test_a_six_byte_varint_is_dropped() -> None:
    """An IMEI of reporting body 01 without its check digit is below 2^42: a 6-byte varint,
    48 bits, under the floor (MIN_BINARY_NUMBER = 7); its int64 forms stay."""
    imei = "010000001234560"
    assert len(varint(int(imei[:14]))) == 6
    rack = make_rack()
    device = rack.devices[0]
    device = replace(device, identity=replace(device.identity, imei=(imei,)))
    patterns = rack_patterns(replace(rack, devices=(device,)))
    mine = {(p.form, p.encoding): p.literal for p in patterns if p.value == imei}
    assert ("imei-14", "protobuf-varint") not in mine
    assert ("imei-14", "int64-le") in mine
    assert all(
        len(p.literal) >= MIN_BINARY_NUMBER for p in patterns if p.encoding in BINARY_NUMBERS
    )


def test_a_varint_after_a_continuation_byte_is_another_number() -> None:
    detector = Detector(make_rack())
    literal = varint(int(IMEI))
    assert [h.encoding for h in detector.scan(b"\x08" + literal + b"\x10\x01")] == [
        "protobuf-varint"
    ]
    assert detector.scan(b"\x08\x81" + literal + b"\x10\x01") == []


def test_imsi_as_a_varint_is_found() -> None:
    [hit] = Detector(make_rack()).scan(b"\x20" + varint(int(IMSI)) + b"\x28\x00")
    assert (hit.kind, hit.form, hit.encoding) == ("imsi", "imsi", "protobuf-varint")


def test_every_binary_literal_holds_an_anchor_at_every_alignment() -> None:
    """The needle search looks at offsets 0 mod ALIGN only: wherever a literal starts,
    one of its anchors must start at such an offset, inside the literal."""
    assert MIN_BINARY_NUMBER >= SHORTEST
    literals = [p.literal for p in rack_patterns(RACK20) if p.encoding in BINARY_NUMBERS]
    anchors = _number_anchors(literals)
    for literal in literals:
        for shift in range(ALIGN):  # the literal starts at data offset `shift`
            first = -shift % ALIGN  # its first byte at an offset 0 mod ALIGN
            aligned = range(first, len(literal) - WIDTH + 1, ALIGN)
            assert any(literal[at : at + WIDTH] in anchors for at in aligned)
    assert len(anchors) <= ALIGN * len(literals)
    assert all(anchor.count(0) < 2 for anchor in anchors)  # zeros are common in real data


@settings(max_examples=200, deadline=None)
@given(
    before=st.binary(max_size=700),
    after=st.binary(max_size=700),
    which=st.integers(0, 1 << 16),
)
def test_a_binary_number_is_found_wherever_it_starts(
    before: bytes, after: bytes, which: int
) -> None:
    """Each form of a phone's numbers planted at any offset (short data is searched whole,
    SIEVE_MIN or more through the needle search) is found."""
    numbers = [p for p in PATTERNS if p.encoding in BINARY_NUMBERS]
    pattern = numbers[which % len(numbers)]
    data = before + b"\x00" + pattern.literal + b"\x00" + after
    hits = DETECTOR.scan(data)
    assert any(h.value == pattern.value and h.encoding == pattern.encoding for h in hits), (
        pattern,
        len(before),
    )


# --- false positives -------------------------------------------------------------


def test_seeded_random_data_holds_no_binary_number() -> None:
    """32 MiB of seeded random bytes, the 20-phone rack: no hit of any binary form
    (computed: 2^25 bytes * 360 literals * 2^-56 = 1.7e-7 expected)."""
    detector = Detector(RACK20)
    rng = random.Random(13)
    found: Counter[str] = Counter()
    for _ in range(32):
        for hit in detector.scan(rng.randbytes(MIB)):
            found[hit.encoding] += 1
    assert not found


def test_chance_matches_follow_the_computed_rate() -> None:
    """The model behind the floor, checked where it can be: a literal's first k bytes
    turn up in random data at 256^-k per offset per literal. Measured on 8 MiB for
    k = 3 (expected about 180 here), it is within a factor 1.5 of the figure;
    the full literals (k >= 7) extrapolate from it (see MIN_BINARY_NUMBER)."""
    literals = {p.literal for p in rack_patterns(RACK20) if p.encoding in BINARY_NUMBERS}
    prefixes = Counter(literal[:3] for literal in literals)
    data = random.Random(31).randbytes(8 * MIB)
    measured = sum(data.count(prefix) * n for prefix, n in prefixes.items())
    expected = len(data) * len(literals) / 256**3
    assert 100 < expected < 300
    assert expected / 1.5 < measured < expected * 1.5
