"""No false alarms: what looks like an identifier or a location, and is not one, never hits.

Why random bytes cannot hit (the 64-bit floor; see benches/analysis/detection/detector.py):
a literal with no boundary check is at least 11 base64 characters (and is
then checked bit for bit by decoding around it) or 8 raw bytes. A literal of
L bytes matches random bytes at one offset with probability at most
(2/256)^L, so 2^-63 for the shortest (9 bytes); over 1 MiB (2^20 offsets) and
about 7,000 literals of a 20-phone rack (2^13) that is 2^-30 expected hits,
and in random base64 text 64^-11 = 2^-66 per offset, 2^-33 per MiB.
"""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.detector import Detector
from benches.analysis.detection.forms import luhn_digit
from benches.inventory.models import Bench, Device, Identity, Location, Network, Rack
from tests.support.pcaps import ICCID, IMEI, IMSI, SERIAL, make_rack

RACK = make_rack()
DETECTOR = Detector(RACK)
DIGIT_LITERALS = [p.literal for p in DETECTOR.patterns if p.literal.isdigit()]


def one_phone_rack(imei: str) -> Rack:
    device = Device("P1", "TA-1046", Network(ipv4="10.0.0.1"), Identity(imei=(imei,)))
    return Rack(Path("devices.yaml"), Bench("b", Location(60.1699, 24.9384, 50.0)), (device,))


def everywhere(text: bytes) -> list[bytes]:
    """``text`` in many encodings and at every base64 offset."""
    spelled = [
        text,
        text.hex().encode(),
        "".join(f"\\u{b:04x}" for b in text).encode(),
        hashlib.sha256(text).hexdigest().encode(),
        base64.b64encode(hashlib.md5(text).digest()),
    ]
    for offset in range(3):
        message = b"xy"[:offset] + b'"' + text + b'"'
        spelled += [base64.b64encode(message), base64.urlsafe_b64encode(message)]
    return [b"v=" + s + b"&" for s in spelled]


def other_imei(imei: str, position: int) -> str:
    """A Luhn-valid IMEI that differs from ``imei`` at ``position`` (and in its check digit)."""
    digits = imei[:position] + str((int(imei[position]) + 1) % 10) + imei[position + 1 : 14]
    return digits + luhn_digit(digits)


def test_imeis_one_digit_away_are_not_the_phones() -> None:
    """Every position, including the last of the 14 whose low bits base64 literals lose."""
    detector = Detector(one_phone_rack(IMEI))
    for position in range(14):
        other = other_imei(IMEI, position)
        assert other != IMEI
        for data in everywhere(other.encode()):
            assert detector.scan(data) == [], (other, data)


def test_the_last_digit_low_bits_are_checked_in_base64() -> None:
    """'5', '6' and '7' share their high six bits: only decoding tells them apart."""
    detector = Detector(one_phone_rack(IMEI))
    for last in "6789":
        other = IMEI[:13] + last
        for offset in range(3):
            data = base64.b64encode(b"=" * offset + other.encode() + b"0")
            assert detector.scan(data) == [], (other, offset)


def test_prefixes_of_the_iccid_are_not_the_iccid() -> None:
    # 19 digits is the ICCID without its check digit: a form of it, not a prefix.
    for size in (7, 12, 17, 18):
        for data in everywhere(ICCID[:size].encode()):
            assert [h for h in DETECTOR.scan(data) if h.kind == "iccid"] == [], (size, data)


def test_longer_numbers_holding_an_identifier_are_not_it() -> None:
    for text in (f"1{IMEI}", f"{IMEI}00", f"9{ICCID}", f"{IMSI}1", f"1700000000{IMEI}"):
        for data in everywhere(text.encode()):
            assert DETECTOR.scan(data) == [], (text, data)


def test_unix_timestamps() -> None:
    data = (
        b'{"ts":1700000000,"ms":1700000000123,"t":[1700000001,1700000002],'
        b'"us":1700000000123456,"f":1700000000.25,"g":1700000001.75}'
    )
    assert DETECTOR.scan(data) == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=40))
def test_random_digit_strings_never_hit(digits: str) -> None:
    data = digits.encode()
    if any(literal in data for literal in DIGIT_LITERALS):
        return  # it holds a rack identifier: not the question here
    for wrapped in (data, b"n=" + data + b"&", b'{"a":' + data + b"}"):
        assert DETECTOR.scan(wrapped) == []


def test_one_mib_of_random_bytes_never_hits() -> None:
    data = random.Random(1046).randbytes(1 << 20)
    assert DETECTOR.scan(data) == []
    assert DETECTOR.scan(base64.b64encode(data[: 3 << 18])) == []
    assert DETECTOR.scan(data[: 1 << 18].hex().encode()) == []


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=8192))
def test_random_binary_never_hits(data: bytes) -> None:
    assert DETECTOR.scan(data) == []


def test_identifiers_of_a_phone_not_on_the_rack() -> None:
    """SIM7P0003 of the default devices.yaml is not on this two-phone test rack."""
    data = b'{"imei":"352098100993458","iccid":"89358051000000000319","sn":"SIM7P0003"}'
    assert DETECTOR.scan(data) == []
    assert SERIAL.encode() not in data


# --- locations ------------------------------------------------------------------


def test_distant_cities_are_not_the_bench() -> None:
    data = (
        b'{"beijing":{"lat":39.9042,"lon":116.4074},"sydney":[151.2093,-33.8688],'
        b'"e7":{"lat":399042000,"lon":1164074000},"sydney_e7":[-338688000,1512093000],'
        b'"tallinn":"59.4370,24.7536","stockholm":"59.3293,18.0686"}'
    )
    assert DETECTOR.scan(data) == []


def test_coordinates_just_outside_the_radius() -> None:
    # 60.17,24.94 is the bench; 0.5 degrees of latitude is about 56 km.
    assert DETECTOR.scan(b"60.6700,24.9384") == []
    assert DETECTOR.scan(b"606700000,249384000") == []
    assert [h.value for h in DETECTOR.scan(b"60.5000,24.9384")] == ["60.5000,24.9384"]


def test_version_strings_and_one_decimal_numbers() -> None:
    assert DETECTOR.scan(b"Android 9; Build/PPR1.180610.011 60.1,24.9 v60.17.24") == []
