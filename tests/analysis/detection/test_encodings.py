"""Every form of every identifier, in every encoding: found, and named by kind, form and encoding.

The payloads are built here with the standard library (and hand-written SIM
bytes), not with the detector's own encoders, and the whole matrix runs twice:
directly through ``Detector.scan``, and as a cleartext HTTP POST in a crafted
pcap through ``analyze`` and ``evaluate``, asserting the finding.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.detection.detector import Detector, Hit
from benches.policy.evaluation import evaluate
from benches.policy.findings import CLEARTEXT_IDENTIFIER
from benches.redaction.masks import mask
from tests.support.pcaps import (
    CN_IP,
    ICCID,
    IMEI,
    IMEI_2,
    IMSI,
    PHONE_IP,
    SERIAL,
    WIFI_MAC,
    http_exchange,
    http_post,
    make_policy,
    make_rack,
    write_pcap,
)
from tests.support.protobufs import varint

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
DETECTOR = Detector(RACK)


@dataclass(frozen=True)
class Written:
    """One form of one identifier, as the test spells it."""

    kind: str
    value: str
    form: str
    data: bytes
    style: str = "text"  # "text", "binary" (SIM bytes), "wide" (UTF-16) or "number" (digits
    # that are also written as one binary number)
    version: bool = False  # ends in an IMEISV software version: no digests

    @property
    def id(self) -> str:
        text = self.data.hex() if self.style not in ("text", "number") else self.data.decode()
        return f"{self.form}[{text}]"


WRITTEN = [
    Written("imei", IMEI, "imei-15", IMEI.encode()),
    Written("imei", IMEI_2, "imei-15", IMEI_2.encode()),  # the second SIM's IMEI
    Written("imei", IMEI, "imei-14", IMEI[:14].encode()),
    Written("imei", IMEI, "imeisv", IMEI[:14].encode() + b"67", version=True),
    Written("imei", IMEI, "imei-2-6-6-1", b"35-209810-012345-2"),
    Written("imei", IMEI, "imei-2-6-6-1", b"35 209810 012345 2"),
    Written("imei", IMEI, "imei-8-6-1", b"35209810-012345-2"),
    Written("imei", IMEI, "imei-8-6-1", b"35209810 012345 2"),
    Written("imei", IMEI, "imei-2-6-6", b"35-209810-012345"),
    Written("imei", IMEI, "imeisv-2-6-6-2", b"35 209810 012345 04", version=True),
    Written("iccid", ICCID, "iccid", ICCID.encode()),
    # EF_ICCID, ETSI TS 102 221 §13.2: BCD, low nibble first.
    Written("iccid", ICCID, "iccid-bcd", bytes.fromhex("98530815000000001011"), "binary"),
    Written("imsi", IMSI, "imsi", IMSI.encode()),
    # EF_IMSI, 3GPP TS 31.102 §4.2.2: length 8, then 9 (odd, IMSI) under the first digit.
    Written("imsi", IMSI, "imsi-bcd", bytes.fromhex("082944500100000010"), "binary"),
    Written("serial", SERIAL, "serial", SERIAL.encode()),
    Written("serial", SERIAL, "serial", SERIAL.lower().encode()),
    Written("serial", SERIAL, "serial-utf16le", SERIAL.encode("utf-16-le"), "wide"),
    Written("serial", SERIAL, "serial-utf16le", SERIAL.lower().encode("utf-16-le"), "wide"),
    Written("serial", SERIAL, "serial-utf16be", SERIAL.encode("utf-16-be"), "wide"),
    Written("wifi_mac", WIFI_MAC, "mac-colon", WIFI_MAC.encode()),
    Written("wifi_mac", WIFI_MAC, "mac-dash", WIFI_MAC.replace(":", "-").encode()),
    Written("wifi_mac", WIFI_MAC, "mac-bare", WIFI_MAC.replace(":", "").encode()),
    # The digits as one binary number (issue 13): a protobuf varint, an int64.
    Written("imei", IMEI, "imei-15", IMEI.encode(), "number"),
    Written("imei", IMEI_2, "imei-15", IMEI_2.encode(), "number"),
    Written("imei", IMEI, "imei-14", IMEI[:14].encode(), "number"),
    Written("imsi", IMSI, "imsi", IMSI.encode(), "number"),
    Written("iccid", ICCID, "iccid-19", ICCID[:19].encode(), "number"),  # 20 digits: > 2^64
]


@dataclass(frozen=True)
class Encoding:
    name: str  # the encoding a finding must name
    encode: Callable[[bytes], bytes]
    styles: tuple[str, ...] = ("text",)
    versions: bool = True  # applies to IMEISV forms (not digests: the version is unknown)
    also: tuple[str, ...] = ()  # other names that are right too (identical literals)


def _b64(offset: int, alphabet: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """The form at ``offset`` of a 3-byte group, in a longer message."""
    return lambda data: alphabet(b"ab"[:offset] + b"{" + data + b"}" + b"xyz")


def _b64_last(offset: int) -> Callable[[bytes], bytes]:
    """The form last in unpadded base64, at ``offset`` of its 3-byte group."""
    return lambda data: STD(b'"' * offset + data).rstrip(b"=")


def _b32(offset: int, lower: bool) -> Callable[[bytes], bytes]:
    """The form at ``offset`` + 1 of a 5-byte group, in a longer (padded) base32 message."""

    def encode(data: bytes) -> bytes:
        text = B32(b"abcd"[:offset] + b"{" + data + b"}" + b"xyz")
        return text.lower() if lower else text

    return encode


def _b32_last(offset: int, lower: bool, padded: bool) -> Callable[[bytes], bytes]:
    """The form last in base32 text, at ``offset`` of its 5-byte group, '=' padded or not."""

    def encode(data: bytes) -> bytes:
        text = B32(b'"' * offset + data)
        text = text if padded else text.rstrip(b"=")
        return text.lower() if lower else text

    return encode


def _utf16_hex(codec: str, upper: bool) -> Callable[[bytes], bytes]:
    def encode(data: bytes) -> bytes:
        text = data.decode().encode(codec).hex()
        return (text.upper() if upper else text).encode()

    return encode


def _digest(name: str, text: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    return lambda data: text(hashlib.new(name, data).digest())


def _json_u(upper: bool) -> Callable[[bytes], bytes]:
    return lambda data: "".join(f"\\u{b:04X}" if upper else f"\\u{b:04x}" for b in data).encode()


STD, SAFE, B32 = base64.b64encode, base64.urlsafe_b64encode, base64.b32encode
ALL = ("text", "binary", "wide")
ENCODINGS = [
    Encoding("plain", lambda d: d, ("text", "wide")),
    Encoding("raw", lambda d: d, ("binary",)),
    Encoding("url", lambda d: quote(d, safe="").encode(), ("text", "binary")),
    Encoding("url", lambda d: quote_plus(d, safe="").encode()),
    Encoding("url-double", lambda d: quote(quote(d, safe=""), safe="").encode()),
    *(Encoding("base64", _b64(o, STD), ALL) for o in (0, 1, 2)),
    *(Encoding("base64url", _b64(o, SAFE), ALL, also=("base64",)) for o in (0, 1, 2)),
    *(Encoding("base64", _b64_last(o), ALL) for o in (0, 1, 2)),
    *(Encoding("base32", _b32(o, lower), ALL) for o in range(5) for lower in (False, True)),
    *(Encoding("base32", _b32_last(o, False, True), ALL) for o in range(5)),
    *(Encoding("base32", _b32_last(o, True, False), ALL) for o in range(5)),
    # The hex of UTF-16 text is named for the byte order (hex-utf16le), on the text form.
    Encoding("hex", lambda d: d.hex().encode(), ("text", "binary")),
    Encoding("hex", lambda d: d.hex().upper().encode(), ("text", "binary")),
    *(
        Encoding(f"hex-utf16{order}", _utf16_hex(f"utf-16-{order}", upper))
        for order in ("le", "be")
        for upper in (False, True)
    ),
    Encoding("json-u", _json_u(upper=False)),
    Encoding("json-u", _json_u(upper=True)),
    *(
        Encoding(f"{name}-{kind}", _digest(name, text), ("text", "wide"), False, also)
        for name in ("md5", "sha1", "sha256")
        for kind, text, also in (
            ("hex", lambda d: d.hex().encode(), ()),
            ("hex", lambda d: d.hex().upper().encode(), ()),
            ("base64", STD, ()),
            ("base64", lambda d: STD(d).rstrip(b"="), ()),
            ("base64url", SAFE, (f"{name}-base64",)),
            ("base64url", lambda d: SAFE(d).rstrip(b"="), (f"{name}-base64",)),
        )
    ),
    Encoding("protobuf-varint", lambda d: varint(int(d)), ("number",)),
    Encoding("protobuf-zigzag", lambda d: varint(2 * int(d)), ("number",)),  # sint64, n >= 0
    Encoding("int64-be", lambda d: int(d).to_bytes(8, "big"), ("number",)),
    Encoding("int64-le", lambda d: int(d).to_bytes(8, "little"), ("number",)),
]


def _cases() -> list[tuple[Written, Encoding, bytes]]:
    cases = []
    for written in WRITTEN:
        for encoding in ENCODINGS:
            if written.style not in encoding.styles or (written.version and not encoding.versions):
                continue
            payload = encoding.encode(written.data)
            if encoding.name.startswith("url") and payload == written.data:
                continue  # percent-encoding changes nothing here: that is the plain form
            cases.append((written, encoding, payload))
    return cases


CASES = _cases()
IDS = [f"{w.id}-{e.name}-{i}" for i, (w, e, _) in enumerate(CASES)]


def body(payload: bytes) -> bytes:
    return b'{"data":"' + payload + b'","n":1}'


def the_hit(hits: list[Hit], written: Written) -> Hit:
    mine = [h for h in hits if (h.kind, h.value) == (written.kind, written.value)]
    assert len(mine) == 1, [(h.form, h.encoding, h.start) for h in hits]
    return mine[0]


@pytest.mark.parametrize(("written", "encoding", "payload"), CASES, ids=IDS)
def test_detector_finds_the_form_in_the_encoding(
    written: Written, encoding: Encoding, payload: bytes
) -> None:
    data = body(payload)
    hit = the_hit(DETECTOR.scan(data), written)
    assert (hit.device, hit.form) == (SERIAL, written.form)
    assert hit.encoding in (encoding.name, *encoding.also)
    if encoding.name in ("plain", "raw"):
        assert data[hit.start : hit.end] == payload


@pytest.mark.parametrize(("written", "encoding", "payload"), CASES, ids=IDS)
def test_pcap_finding_names_identifier_and_encoding(
    tmp_path: Path, written: Written, encoding: Encoding, payload: bytes
) -> None:
    request = http_post("zfhmd.vnet.cn", "/activation", body(payload))
    pcap = write_pcap(
        tmp_path / "leak.pcap", http_exchange(PHONE_IP, 40001, CN_IP, request).packets
    )
    verdict = evaluate(analyze([pcap], RACK, GEO), make_policy())
    assert verdict.outcome == "fail"
    findings = [
        f
        for f in verdict.findings
        if f.kind == CLEARTEXT_IDENTIFIER and f.identifier == written.kind
    ]
    assert len(findings) == 1, [(f.identifier, f.encoding) for f in verdict.findings]
    finding = findings[0]
    assert finding.device == mask(SERIAL)  # people read findings: the serial is masked too
    assert finding.encoding in (encoding.name, *encoding.also)
    assert finding.dst_host == "zfhmd.vnet.cn"
    assert written.value not in finding.evidence  # masked, whatever the encoding


def test_the_matrix_covers_every_encoding_name() -> None:
    from benches.analysis.detection.encodings import ENCODINGS as NAMES

    assert {e.name for e in ENCODINGS} == set(NAMES)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (b"02%3A00%3A00%3A00%3A02%3A01", "url"),
        (b"02%3a00%3a00%3a00%3a02%3a01", "url"),
        (b"02%253A00%253A00%253A00%253A02%253A01", "url-double"),
        (b"35%20209810%20012345%202", "url"),
        (b"35+209810+012345+2", "url"),
        (b"35%2520209810%2520012345%25202", "url-double"),
    ],
)
def test_percent_encoding_by_hand(text: bytes, encoding: str) -> None:
    hits = DETECTOR.scan(b"x=" + text + b"&y=1")
    assert [(h.form in ("mac-colon", "imei-2-6-6-1"), h.encoding) for h in hits] == [
        (True, encoding)
    ]


def test_json_number_is_the_digit_form() -> None:
    hits = DETECTOR.scan(b'{"imei":' + IMEI.encode() + b',"n":2}')
    assert [(h.kind, h.form, h.encoding) for h in hits] == [("imei", "imei-15", "plain")]


def test_base64_at_every_alignment_of_a_long_message() -> None:
    for offset in range(6):
        message = bytes(range(offset)) + b"imei=" + IMEI.encode() + b"&x=" + bytes(7)
        for encode in (STD, SAFE, lambda d: STD(d).rstrip(b"=")):
            hits = DETECTOR.scan(b"q=" + encode(message) + b"\n")
            assert [(h.kind, h.form) for h in hits] == [("imei", "imei-15")], offset


def test_imeisv_in_base64_with_any_version() -> None:
    for version in ("00", "17", "98"):
        for offset in range(3):
            text = STD(b"=" * offset + IMEI[:14].encode() + version.encode() + b"&")
            assert [(h.form, h.encoding) for h in DETECTOR.scan(text)] == [("imeisv", "base64")]


def test_base64_cut_short_at_the_start_of_the_data() -> None:
    """A capture that starts inside the form's first group: the literal alone stands."""
    text = STD(b"=" + IMEI.encode() + b"=")
    assert [(h.form, h.start) for h in DETECTOR.scan(text[2:])] == [("imei-15", 0)]
    assert DETECTOR.scan(b"!!" + text[2:]) == []  # not base64 at that offset
