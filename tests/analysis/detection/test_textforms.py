"""Identifiers as base32 and as hex of their UTF-16 text (issue 13, "More forms").

The payloads are built with the standard library (``base64.b32encode``,
``str.encode("utf-16-le")``), never with the detector's encoders. Unit tests
go through ``Detector.scan``; the end-to-end tests write a crafted capture and
run ``bench analyze`` on it.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.base32 import Base32Fragment, base32_context, decode_prefix
from benches.analysis.detection.detector import MIN_UNCHECKED_BASE32, Detector, rack_patterns
from benches.analysis.detection.forms import luhn_digit
from benches.inventory.models import Bench, Device, Identity, Location, Network, Rack
from tests.support.analyzecli import DEVICES, FIRMWARE, bench
from tests.support.pcaps import (
    ICCID,
    IMEI,
    IMSI,
    PHONE_IP,
    RESOLVER_IP,
    SERIAL,
    WIFI_MAC,
    dns_lookup,
    http_exchange,
    http_post,
    make_rack,
    write_pcap,
)

RACK = make_rack()
DETECTOR = Detector(RACK)
B32 = base64.b32encode
TAC = IMEI[:8]
# Phones not on the rack: one of the same model (same TAC), and the GSMA's example IMEI.
STRANGERS = ("35209810099999" + luhn_digit("35209810099999"), "490154203237518")
IDENTIFIERS = {"imei": IMEI, "iccid": ICCID, "imsi": IMSI, "serial": SERIAL, "wifi_mac": WIFI_MAC}


def found(data: bytes) -> list[tuple[str, str, str]]:
    """(kind, form, encoding) of each hit."""
    return [(h.kind, h.form, h.encoding) for h in DETECTOR.scan(data)]


def spellings(text: bytes) -> list[bytes]:
    """Base32 text as RFC 4648 writes it, unpadded, and both in lower case."""
    padded = B32(text)
    bare = padded.rstrip(b"=")
    return [padded, bare, padded.lower(), bare.lower()]


def utf16_hex(text: str, order: str, upper: bool = False) -> bytes:
    spelled = text.encode(f"utf-16-{order}").hex()
    return (spelled.upper() if upper else spelled).encode()


# --- base32 -------------------------------------------------------------------


@pytest.mark.parametrize("before", range(10))  # every byte offset in a 5-byte group, twice
def test_base32_at_every_alignment_in_either_case_padded_or_not(before: int) -> None:
    message = b"xyzwv"[: before % 5] + bytes(before // 5 * 5) + b"imei=" + IMEI.encode() + b"&n=7"
    for spelled in spellings(message):
        assert found(b"q=" + spelled + b"\n") == [("imei", "imei-15", "base32")], spelled


@pytest.mark.parametrize("before", range(5))
def test_base32_with_the_identifier_last_and_padding_right_after(before: int) -> None:
    for kind, value in IDENTIFIERS.items():
        for spelled in spellings(b"{" * before + value.encode()):
            hits = DETECTOR.scan(b'"' + spelled + b'"')
            assert [(h.kind, h.encoding) for h in hits] == [(kind, "base32")], (kind, spelled)


def test_base32_of_the_imeisv_with_any_version() -> None:
    for version in ("00", "17", "98"):
        for before in range(5):
            for spelled in spellings(b"=" * before + IMEI[:14].encode() + version.encode() + b"&"):
                assert found(spelled) == [("imei", "imeisv", "base32")]


def test_base32_names_the_form_of_sim_bytes() -> None:
    """EF_IMSI as the SIM stores it (3GPP TS 31.102 §4.2.2), in base32: the binary form."""
    ef_imsi = bytes.fromhex("082944500100000010")
    for before in range(5):
        assert found(B32(bytes(before) + ef_imsi + b"\xff")) == [("imsi", "imsi-bcd", "base32")]


def test_base32_deep_inside_a_large_payload_passes_the_sieve() -> None:
    """Past SIEVE_MIN the automaton runs only around anchors: base32 text must hold one."""
    noise = random.Random(13).randbytes(64 << 10)
    leak = B32(b"\x00\x01" + IMEI.encode() + b"\x02").lower()
    data = noise + leak + noise
    first = (8 * 2 + 4) // 5  # the first character of the IMEI's bits alone, 2 bytes in
    assert [(h.kind, h.encoding, h.start) for h in DETECTOR.scan(data)] == [
        ("imei", "base32", len(noise) + first)
    ]


def test_base32_read_in_a_stream_one_byte_at_a_time() -> None:
    leak = b"id=" + B32(b"!!" + IMEI.encode() + b"!!") + b"&"
    scanner = DETECTOR.stream()
    hits = [hit for byte in leak for hit in scanner.feed(bytes([byte]))] + scanner.finish()
    assert [(h.kind, h.encoding) for h in hits] == [("imei", "base32")]


# --- base32: clean traps ---------------------------------------------------------


@pytest.mark.parametrize("stranger", STRANGERS)
def test_base32_of_another_phones_imei_is_quiet(stranger: str) -> None:
    for before in range(5):
        for spelled in spellings(b"-" * before + stranger.encode() + b"-"):
            assert found(spelled) == []


def test_base32_of_a_tac_alone_is_quiet() -> None:
    for before in range(5):
        for spelled in spellings(b"tac="[:before] + TAC.encode() + b"&model=TA-1046"):
            assert found(spelled) == []


def test_random_base32_text_is_quiet() -> None:
    noise = random.Random(32).randbytes(1 << 20)
    for spelled in (B32(noise), B32(noise).lower()):
        assert DETECTOR.scan(spelled) == []


def test_base32_checks_the_bits_the_literal_leaves_out() -> None:
    """The literal stops before the characters shared with the bytes around: the last digit's
    low bits are checked by decoding, so the IMEI with another check digit is no hit (and its
    first 14 digits are followed by a digit: no IMEI-14 either)."""
    wrong = IMEI[:14] + str((int(IMEI[14]) + 1) % 10)
    for before in range(5):
        for spelled in spellings(b"!" * before + wrong.encode() + b"!"):
            assert found(spelled) == [], spelled


def test_base32_of_the_imei_inside_a_longer_number_is_quiet() -> None:
    for before in range(5):
        for spelled in spellings(b"!" * before + b"9" + IMEI.encode() + b"9!"):
            assert found(spelled) == []


# --- the 64-bit floor ---------------------------------------------------------------


def one_phone(serial: str) -> Rack:
    identity = Identity(imei=(IMEI,), serial=serial)
    device = Device("P1", "TA-1046", Network(ipv4="10.0.0.1"), identity)
    return Rack(Path("devices.yaml"), Bench("b", Location(60.1699, 24.9384, 50.0)), (device,))


def test_base32_literals_carry_64_bits_or_more() -> None:
    """A base32 literal is not boundary-checked by a reader: 13 characters (65 bits) at least.
    So a serial of 8 characters (64 bits, 12 whole characters) has no base32 form at all; one
    of 9 has all five alignments."""
    assert MIN_UNCHECKED_BASE32 == 13
    lengths = [len(p.literal) for p in rack_patterns(RACK) if p.encoding == "base32"]
    assert min(lengths) >= MIN_UNCHECKED_BASE32
    for serial, offsets in (("R58M12AB", set()), ("R58M12ABC", {0, 1, 2, 3, 4})):
        patterns = rack_patterns(one_phone(serial))
        base32 = [p for p in patterns if p.form == "serial" and p.encoding == "base32"]
        assert {p.fragment.offset for p in base32 if p.fragment} == offsets, serial
        assert {p.encoding for p in patterns if p.kind == "serial"} >= {"hex-utf16le", "plain"}


# --- hex of UTF-16 ------------------------------------------------------------------


@pytest.mark.parametrize("order", ["le", "be"])
def test_utf16_hex_of_every_identifier_in_either_case(order: str) -> None:
    for kind, value in IDENTIFIERS.items():
        for upper in (False, True):
            data = b'{"v":"' + utf16_hex(value, order, upper) + b'"}'
            assert [(h.kind, h.value, h.encoding) for h in DETECTOR.scan(data)] == [
                (kind, value, f"hex-utf16{order}")
            ]


def test_utf16_hex_of_the_imeisv_reads_its_version() -> None:
    for order in ("le", "be"):
        data = b"x=" + utf16_hex(IMEI[:14] + "05", order) + b"&"
        assert found(data) == [("imei", "imeisv", f"hex-utf16{order}")]


def test_utf16_hex_of_the_imei_inside_a_longer_number_is_quiet() -> None:
    """The neighbours are read as hex UTF-16 units: "3900" before the IMEI is a '9'."""
    for order in ("le", "be"):
        for text in ("9" + IMEI, IMEI + "99", f"0{IMEI}0"):  # IMEI + 1 digit: the IMEISV
            assert found(b"x=" + utf16_hex(text, order) + b"&") == [], (order, text)


@pytest.mark.parametrize("stranger", [*STRANGERS, TAC])
def test_utf16_hex_of_another_phone_or_a_tac_alone_is_quiet(stranger: str) -> None:
    for order in ("le", "be"):
        assert found(b"x=" + utf16_hex(f'"{stranger}"', order) + b"&") == []


def test_utf16_hex_deep_inside_a_large_payload_passes_the_sieve() -> None:
    noise = random.Random(16).randbytes(64 << 10)
    data = noise + utf16_hex(f'"{IMEI}"', "le") + noise
    assert found(data) == [("imei", "imei-15", "hex-utf16le")]


# --- property tests ---------------------------------------------------------------

NOT_WORDY = st.sampled_from(b'"&=,;{}[] \n\x00\xff')


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(sorted(IDENTIFIERS)),
    prefix=st.binary(max_size=40),
    left=NOT_WORDY,
    right=NOT_WORDY,
    suffix=st.binary(max_size=40),
    lower=st.booleans(),
    padded=st.booleans(),
)
def test_base32_round_trip(
    kind: str, prefix: bytes, left: int, right: int, suffix: bytes, lower: bool, padded: bool
) -> None:
    """Any bytes around the identifier, so any alignment: base32 of it all is found."""
    message = prefix + bytes([left]) + IDENTIFIERS[kind].encode() + bytes([right]) + suffix
    spelled = B32(message)
    spelled = spelled if padded else spelled.rstrip(b"=")
    spelled = spelled.lower() if lower else spelled
    hits = DETECTOR.scan(b"data=" + spelled + b"&")
    assert (kind, "base32") in [(h.kind, h.encoding) for h in hits]


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(sorted(IDENTIFIERS)),
    prefix=st.text(max_size=20),
    suffix=st.text(max_size=20),
    order=st.sampled_from(["le", "be"]),
    upper=st.booleans(),
)
def test_utf16_hex_round_trip(kind: str, prefix: str, suffix: str, order: str, upper: bool) -> None:
    """Any text around the identifier: the hex of its UTF-16 is found. Between hex-spelled
    characters, UTF-16 text reads in both byte orders one byte apart, and the finding says
    little-endian (as for plain UTF-16): only where the hex begins tells which it was."""
    text = prefix + '"' + IDENTIFIERS[kind] + '"' + suffix
    hits = DETECTOR.scan(b"data=" + utf16_hex(text, order, upper) + b"&")
    named = {h.encoding for h in hits if h.kind == kind}
    assert named and named <= {"hex-utf16le", "hex-utf16be"}
    if order == "le":
        assert named == {"hex-utf16le"}


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=80),
    start=st.integers(min_value=-4, max_value=90),
    offset=st.integers(min_value=0, max_value=4),
    want=st.integers(min_value=0, max_value=6),
)
def test_base32_context_never_fails_and_reads_a_bounded_window(
    data: bytes, start: int, offset: int, want: int
) -> None:
    """Any bytes at any position: None or at most ``want`` bytes either side, never an error."""
    around = base32_context(data, start, Base32Fragment(IMEI.encode(), offset), want)
    if around is not None:
        assert len(around[0]) <= want and len(around[1]) <= want


@given(st.binary(max_size=60), st.booleans())
def test_decode_prefix_agrees_with_the_standard_library(data: bytes, lower: bool) -> None:
    text = B32(data).lower() if lower else B32(data)
    assert decode_prefix(text) == data
    assert decode_prefix(text.rstrip(b"=") + b"!JBSWY3DP") == data


# --- bench analyze, end to end -------------------------------------------------------


# An allowed host in an allowed country that may not receive identifiers: a POST to it
# fails for an identifier and for nothing else.
API_HOST, API_IP = "api.vendor.example", "127.0.44.11"
API = f"    - {{host: {API_HOST}, address: {API_IP}, country: FI, owner: Vendor Cloud Oy}}\n"
ENDPOINTS = "  endpoints:\n"


def post_capture(folder: Path, body: bytes, name: str) -> Path:
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, API_HOST, API_IP)
    request = http_post(API_HOST, "/v1/register", body)
    packets += http_exchange(PHONE_IP, 40001, API_IP, request).packets
    return write_pcap(folder / name, packets)


def analyze_json(folder: Path, capture: Path) -> tuple[int, dict[str, object]]:
    assert ENDPOINTS in DEVICES
    devices, firmware = folder / "devices.yaml", folder / "firmware.yaml"
    devices.write_text(DEVICES.replace(ENDPOINTS, ENDPOINTS + API))
    firmware.write_text(FIRMWARE)
    done = bench("analyze", capture, "--devices", devices, "--firmware", firmware, "--json")
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("base32", b'{"token":"' + B32(b"\x01" + IMEI.encode() + b"\x02").rstrip(b"=") + b'"}'),
        ("base32", b"token=" + B32(b"imsi=" + IMSI.encode()).lower()),
        ("hex-utf16le", b'{"d":"' + utf16_hex(f"imei={IMEI};", "le", upper=True) + b'"}'),
        ("hex-utf16be", b'{"d":"' + utf16_hex(IMEI, "be") + b'"}'),
    ],
    ids=["base32", "base32-lower", "hex-utf16le", "hex-utf16be"],
)
def test_bench_analyze_fails_naming_the_encoding(
    tmp_path: Path, encoding: str, body: bytes
) -> None:
    code, document = analyze_json(tmp_path, post_capture(tmp_path, body, "leak.pcap"))
    assert code == 1
    assert document["verdict"] == "fail"
    findings = document["findings"]
    assert isinstance(findings, list)
    named = [(f["identifier"], f["encoding"]) for f in findings if f["encoding"] == encoding]
    assert len(named) == 1 and named[0][0] in ("imei", "imsi"), findings
    assert {f["kind"] for f in findings} == {"cleartext_identifier"}
    assert IMEI not in json.dumps(document)


def test_bench_analyze_passes_the_clean_traps(tmp_path: Path) -> None:
    """Other phones' IMEIs in base32 and UTF-16 hex, a TAC alone, random base32: a pass
    (to the host where the tests above fail)."""
    noise = random.Random(7).randbytes(3000)
    traps = [B32(b"=" + stranger.encode() + b"=") for stranger in STRANGERS]
    traps += [utf16_hex(f'"{stranger}"', "le") for stranger in STRANGERS]
    traps += [B32(b"tac=" + TAC.encode()), utf16_hex(TAC, "be"), B32(noise).lower()]
    body = b"&".join(b"v%d=%s" % (i, trap) for i, trap in enumerate(traps))
    code, document = analyze_json(tmp_path, post_capture(tmp_path, body, "traps.pcap"))
    assert (code, document["verdict"]) == (0, "pass"), document["findings"]
