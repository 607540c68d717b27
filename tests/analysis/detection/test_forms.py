"""The forms of each identifier: which spellings count, which do not, and how a hit names them."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest

from benches.analysis.detection.detector import Detector, Hit, IdentifierPattern
from benches.analysis.detection.forms import ef_imsi, luhn_digit, swapped_bcd
from benches.analysis.detection.identifiers import find_identifiers, identifier_patterns
from benches.inventory.models import Bench, Device, Identity, Location, Network, Rack
from tests.support.pcaps import ICCID, IMEI, IMEI_2, IMSI, SERIAL, WIFI_MAC, make_rack

RACK = make_rack()
DETECTOR = Detector(RACK)


def found(data: bytes, detector: Detector = DETECTOR) -> list[tuple[str, str, str]]:
    """(kind, form, encoding) of each hit."""
    return [(h.kind, h.form, h.encoding) for h in detector.scan(data)]


def one_phone(iccid: str | None = None, wifi_mac: str | None = None) -> Detector:
    """A rack of one phone with an IMEI and these identifiers (and nothing else)."""
    identity = Identity(imei=("352098100123452",), iccid=iccid, wifi_mac=wifi_mac)
    device = Device("P1", "TA-1046", Network(ipv4="10.0.0.1"), identity)
    bench = Bench("b", Location(60.1699, 24.9384, 50.0))
    return Detector(Rack(Path("devices.yaml"), bench, (device,)))


# --- the API ----------------------------------------------------------------


def test_hit_names_device_kind_value_form_and_encoding() -> None:
    hit = DETECTOR.scan(b'{"imei":"' + base64.b64encode(IMEI.encode()) + b'"}')[0]
    assert isinstance(hit, Hit) and isinstance(hit.pattern, IdentifierPattern)
    assert (hit.device, hit.kind, hit.value, hit.form, hit.encoding) == (
        SERIAL,
        "imei",
        IMEI,
        "imei-15",
        "base64",
    )
    assert hit.pattern.value == IMEI  # raw: the caller masks it


def test_detector_exposes_patterns_and_longest_match() -> None:
    assert DETECTOR.patterns == identifier_patterns(RACK)
    assert DETECTOR.max_length == max(
        len(p.literal) + 12 * (p.suffix is not None) for p in DETECTOR.patterns
    )
    longest = max(DETECTOR.patterns, key=lambda p: len(p.literal))
    assert (longest.kind, longest.encoding) == ("iccid", "json-u")  # 20 × \u003X


def test_find_identifiers_keeps_working_on_a_pattern_tuple() -> None:
    hits = find_identifiers(f"a={IMEI}".encode(), identifier_patterns(RACK))
    assert [(h.device, h.kind, h.value, h.form) for h in hits] == [
        (SERIAL, "imei", IMEI, "imei-15")
    ]


# --- IMEI ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (IMEI, "imei-15"),
        (IMEI[:14], "imei-14"),
        (IMEI[:14] + "00", "imeisv"),
        (IMEI[:14] + "98", "imeisv"),
        ("35-209810-012345-2", "imei-2-6-6-1"),
        ("35 209810 012345 2", "imei-2-6-6-1"),
        ("35209810-012345-2", "imei-8-6-1"),
        ("35209810 012345 2", "imei-8-6-1"),
        ("35-209810-012345", "imei-2-6-6"),
        ("35-209810-012345-67", "imeisv-2-6-6-2"),
        ("35 209810 012345 67", "imeisv-2-6-6-2"),
    ],
)
def test_imei_forms(text: str, form: str) -> None:
    assert found(f"imei: {text};".encode()) == [("imei", form, "plain")]


def test_the_longest_form_only() -> None:
    """The 14 digits inside the 15, or inside a grouped IMEI, are the same leak, once."""
    assert found(IMEI.encode()) == [("imei", "imei-15", "plain")]
    assert found(b"35-209810-012345-2") == [("imei", "imei-2-6-6-1", "plain")]
    assert found(IMEI.encode().hex().encode()) == [("imei", "imei-15", "hex")]
    assert found(base64.b64encode(b"=" + IMEI.encode())) == [("imei", "imei-15", "base64")]


def test_every_imeisv_is_reported_whatever_its_software_version() -> None:
    """Decision: 16 digits starting with the phone's TAC+SNR are its IMEISV, even when
    the version's first digit equals the IMEI's check digit (IMEI + one digit)."""
    assert found(f"sv={IMEI}7&".encode()) == [("imei", "imeisv", "plain")]
    assert found(f"sv={IMEI[:14]}17&".encode()) == [("imei", "imeisv", "plain")]
    assert found(f"sv={IMEI}71&".encode()) == []  # 17 digits: a longer number


def test_every_imei_of_a_dual_sim_phone() -> None:
    hits = DETECTOR.scan(f"imei1={IMEI}&imei2={IMEI_2}".encode())
    assert [(h.device, h.value) for h in hits] == [(SERIAL, IMEI), (SERIAL, IMEI_2)]


@pytest.mark.parametrize(
    "text", [f"1{IMEI}", f"{IMEI}12", "35-209810-012345-2-4", "7-35-209810-012345-2"]
)
def test_imei_inside_a_longer_number_is_not_a_hit(text: str) -> None:
    assert found(f"n={text}&".encode()) == []


# --- ICCID -----------------------------------------------------------------------


def test_iccid_bcd_as_the_sim_stores_it() -> None:
    assert swapped_bcd(ICCID) == bytes.fromhex("98530815000000001011")
    raw = b"\x90\x00" + bytes.fromhex("98530815000000001011") + b"\x90\x00"
    assert found(raw) == [("iccid", "iccid-bcd", "raw")]
    assert found(b"EF_ICCID=98530815000000001011;") == [("iccid", "iccid-bcd", "hex")]
    assert found(b"EF_ICCID=98530815000000001011FF") == []  # part of a longer dump


def test_a_19_digit_iccid_with_its_check_digit_and_its_f_filler() -> None:
    iccid = "8935805100000000011"  # 19 digits, as some issuers print them
    detector = one_phone(iccid=iccid)
    check = luhn_digit(iccid)
    assert found(f"i={iccid}&".encode(), detector) == [("iccid", "iccid", "plain")]
    assert found(f"i={iccid}{check}&".encode(), detector) == [("iccid", "iccid-luhn", "plain")]
    assert found(f"i={iccid}F&".encode(), detector) == [("iccid", "iccid-f", "plain")]
    assert found(f"i={iccid}f&".encode(), detector) == [("iccid", "iccid-f", "plain")]
    # 19 digits and an F filler, two per byte, low nibble first: ... 01 F1.
    assert swapped_bcd(iccid) == bytes.fromhex("985308150000000010f1")
    assert found(b"\x00" + bytes.fromhex("985308150000000010f1"), detector) == [
        ("iccid", "iccid-bcd", "raw")
    ]


def test_luhn_check_digit() -> None:
    assert luhn_digit(IMEI[:14]) == IMEI[14]
    assert luhn_digit(ICCID[:19]) == ICCID[19]


# --- IMSI ------------------------------------------------------------------------


def test_ef_imsi_layout() -> None:
    """3GPP TS 31.102 §4.2.2: length, then parity/type nibble 9 under the first digit."""
    assert ef_imsi(IMSI) == bytes.fromhex("082944500100000010")
    # 14 digits: even, type nibble 1, and an F fills the last nibble.
    assert ef_imsi("24405100000001") == bytes.fromhex("0821445001000000f1")


def test_imsi_forms() -> None:
    assert found(f"imsi={IMSI}".encode()) == [("imsi", "imsi", "plain")]
    assert found(b"\x01\x02" + ef_imsi(IMSI) + b"\x03") == [("imsi", "imsi-bcd", "raw")]
    assert found(b"imsi=082944500100000010&") == [("imsi", "imsi-bcd", "hex")]
    assert found(b"imsi=082944500100000010".upper()) == [("imsi", "imsi-bcd", "hex")]


# --- serial -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [SERIAL, SERIAL.lower(), "sIm7P0001", "Sim7p0001"])
def test_serial_in_any_case(text: str) -> None:
    assert found(f"sn={text}&".encode()) == [("serial", "serial", "plain")]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", [SERIAL, SERIAL.lower(), "sIm7P0001"])
def test_serial_in_utf16(codec: str, text: str) -> None:
    """ASCII in UTF-16 reads in both byte orders one byte apart (the NUL of one
    character pairs with the next): one leak, reported as little-endian."""
    data = "sn=".encode(codec) + text.encode(codec) + ";".encode(codec)
    assert found(data) == [("serial", "serial-utf16le", "plain")]


def test_serial_in_utf16be_alone() -> None:
    data = SERIAL.encode("utf-16-be")
    assert found(data) == [("serial", "serial-utf16be", "plain")]


def test_utf16_serial_inside_a_longer_one_is_not_a_hit() -> None:
    assert found(f"{SERIAL}0".encode("utf-16-le")) == []


# --- Wi-Fi MAC ---------------------------------------------------------------------

LETTERS_MAC = "a4:5e:60:c2:11:ef"


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (LETTERS_MAC, "mac-colon"),
        (LETTERS_MAC.upper(), "mac-colon"),
        ("A4:5e:60:C2:11:eF", "mac-colon"),
        (LETTERS_MAC.replace(":", "-"), "mac-dash"),
        (LETTERS_MAC.replace(":", "").upper(), "mac-bare"),
    ],
)
def test_mac_forms_in_any_case(text: str, form: str) -> None:
    assert found(f"m={text}&".encode(), one_phone(wifi_mac=LETTERS_MAC)) == [
        ("wifi_mac", form, "plain")
    ]


def test_mac_base64_in_both_cases() -> None:
    detector = one_phone(wifi_mac=LETTERS_MAC)
    for text in (LETTERS_MAC, LETTERS_MAC.upper()):
        assert found(base64.b64encode(f'"{text}"'.encode()), detector) == [
            ("wifi_mac", "mac-colon", "base64")
        ]


def test_raw_mac_bytes_are_not_a_form() -> None:
    """Decision: six bytes are below the 64-bit floor, and the phone sends them to the
    bench's own network in every frame, ARP and DHCP packet."""
    assert found(b"\x01\x01" + bytes.fromhex(WIFI_MAC.replace(":", "")) + b"\x08\x06") == []


def test_the_mac_of_a_virtual_phone_has_no_letters() -> None:
    assert found(WIFI_MAC.replace(":", "").encode()) == [("wifi_mac", "mac-bare", "plain")]


def test_a_phone_without_optional_identifiers() -> None:
    detector = one_phone()
    assert {p.kind for p in detector.patterns} == {"imei"}
    assert found(f"{SERIAL} {ICCID}".encode(), detector) == []


def test_rack_without_devices_finds_nothing() -> None:
    detector = Detector(replace(RACK, devices=()))
    assert detector.patterns == () and detector.scan(IMEI.encode()) == []
