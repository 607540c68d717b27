"""``mime.read_body``: multipart parts and Content-Transfer-Encoding, bounded.

Each part that needs decoding comes back as a form labelled with its chain; a part
as sent is left to the raw search; the parts, the nesting and the decoded bytes are
bounded, and hostile bytes never raise."""

from __future__ import annotations

import base64
import gzip

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.mime import (
    MAX_DEPTH,
    MAX_PARTS,
    boundary,
    decode_base64,
    decode_quoted_printable,
    mime_headers,
    read_body,
    wanted,
)
from tests.support.bodies import BOUNDARY, base64_lines, imei_across_a_line_break, multipart
from tests.support.pcaps import IMEI

FORM = f"multipart/form-data; boundary={BOUNDARY}"
BIG = 1 << 24


def labels(body: bytes, content_type: str = FORM, transfer: str | None = None) -> dict[str, bytes]:
    return {f.label: f.coding.data for f in read_body(body, content_type, transfer, BIG).forms}


def test_the_boundary_is_read_quoted_or_not() -> None:
    assert boundary('multipart/mixed; boundary="a b;c"') == b"a b;c"
    assert boundary("multipart/related; type=x; BOUNDARY=xyz; charset=utf-8") == b"xyz"
    assert boundary("multipart/form-data") is None
    assert boundary("multipart/form-data; boundary=" + "x" * 300) is None


def test_only_multipart_or_a_transfer_encoding_is_wanted() -> None:
    assert wanted(FORM, None) and wanted(" Multipart/Mixed; boundary=a", None)
    assert wanted("application/json", "base64")
    assert not wanted("application/json", None) and not wanted(None, "8bit")


def test_a_base64_part_across_a_line_break_decodes_whole() -> None:
    payload = imei_across_a_line_break()
    lines = base64_lines(payload)
    assert IMEI.encode() not in lines and base64.b64encode(IMEI.encode()) not in lines
    body = multipart([("Content-Transfer-Encoding: base64", lines)])
    assert labels(body) == {"multipart+base64": payload}


def test_a_quoted_printable_part_and_plain_parts() -> None:
    body = multipart([
        ("Content-Disposition: form-data; name=a", b"as sent"),
        ("Content-Transfer-Encoding: quoted-printable", b"imei=3D=33=35=32=\r\n098"),
    ])  # fmt: skip
    assert labels(body) == {"multipart+quoted-printable": b"imei=352098"}


def test_a_content_coded_part_keeps_its_codings_and_a_gzip_part_is_sniffed() -> None:
    packed = gzip.compress(b"inside")
    body = multipart([("Content-Encoding: gzip", packed), ("Content-Type: x/y", packed)])
    forms = read_body(body, FORM, None, BIG).forms
    assert [(f.label, f.coding.codings, f.decoded) for f in forms] == [
        ("multipart", ("gzip",), False),
        ("multipart", (), False),  # to be sniffed by the decoder
    ]


def test_nested_multipart_and_a_base64_multipart() -> None:
    inner = multipart([("Content-Transfer-Encoding: base64", base64.b64encode(b"deep"))], "in")
    outer = multipart([
        ('Content-Type: multipart/mixed; boundary="in"', inner),
        ("Content-Type: multipart/mixed; boundary=in\r\nContent-Transfer-Encoding: base64",
         base64_lines(inner)),
    ])  # fmt: skip
    found = labels(outer)
    assert found["multipart+multipart+base64"] == b"deep"
    assert found["multipart+base64+multipart+base64"] == b"deep"
    assert found["multipart+base64"] == inner


def test_lf_line_endings_a_preamble_and_no_close_delimiter() -> None:
    body = b"preamble\n--b\nContent-Transfer-Encoding: base64\n\nQUJD\n--b\n\nplain"
    assert labels(body, "multipart/mixed; boundary=b") == {"multipart+base64": b"ABC"}


def test_a_body_declared_base64_without_multipart() -> None:
    assert labels(b"QUJD\r\nREVG\r\n", "application/json", "base64") == {"base64": b"ABCDEF"}


def test_an_unknown_transfer_encoding_is_said() -> None:
    body = multipart([("Content-Transfer-Encoding: x-uuencode", b"begin 644 a")])
    reading = read_body(body, FORM, None, BIG)
    assert reading.unsupported == "x-uuencode" and reading.forms == []


def test_the_parts_are_bounded() -> None:
    part = ("Content-Transfer-Encoding: base64", b"QUJD")
    reading = read_body(multipart([part] * (MAX_PARTS + 5)), FORM, None, BIG)
    assert len(reading.forms) == MAX_PARTS == reading.parts
    assert reading.spent == f"more than {MAX_PARTS} MIME parts"


def test_the_nesting_is_bounded() -> None:
    body = b"QUJD"
    content_type = "application/octet-stream"
    for depth in range(MAX_DEPTH + 2):
        body = multipart([(f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64",
                           base64.b64encode(body))], f"b{depth}")  # fmt: skip
        content_type = f"multipart/mixed; boundary=b{depth}"
    reading = read_body(body, content_type, None, BIG)
    assert reading.spent == f"multipart nested more than {MAX_DEPTH} deep"
    assert max(f.label.count("multipart") for f in reading.forms) == MAX_DEPTH


def test_the_decoded_bytes_are_bounded() -> None:
    part = ("Content-Transfer-Encoding: base64", base64.b64encode(bytes(3000)))
    reading = read_body(multipart([part] * 10), FORM, None, 10_000)
    assert reading.decoded == 10_000 and reading.spent == "the decode budget"
    assert sum(len(f.coding.data) for f in reading.forms) == 10_000


def test_base64_and_quoted_printable_decoders_are_lenient() -> None:
    assert decode_base64(b"QU\r\nJD RE") == b"ABCD"  # a lone last character is dropped
    assert decode_base64(b"-_-_") == base64.b64decode(b"+/+/")
    assert decode_base64(b"QQ") == b"A"
    assert decode_quoted_printable(b"a=\nb=4") == b"ab=4"


PIECES = st.sampled_from([
    b"--b", b"--b--", b"\r\n", b"\n", b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable", b"Content-Encoding: gzip",
    b"Content-Type: multipart/mixed; boundary=b", b"QUJD", b"=41", b"\x1f\x8b", b"x",
])  # fmt: skip


@given(st.lists(st.one_of(PIECES, st.binary(max_size=8)), max_size=60))
@settings(max_examples=600, deadline=None)
def test_any_body_never_raises_and_its_work_is_bounded(pieces: list[bytes]) -> None:
    body = b"".join(pieces)
    reading = read_body(body, "multipart/mixed; boundary=b", None, BIG)
    assert reading.parts <= MAX_PARTS
    # each form is (a decoding of) a slice of the body, nested at most MAX_DEPTH deep
    assert all(len(f.coding.data) <= len(body) for f in reading.forms)
    assert len(reading.forms) <= reading.parts + 1
    assert reading.decoded <= len(body) * MAX_DEPTH


def test_the_work_grows_linearly_with_the_parts() -> None:
    """Counted, not timed: the bytes decoded and forms made for 8x the parts are 8x."""
    part = ("Content-Transfer-Encoding: base64", base64_lines(bytes(200)))
    one = read_body(multipart([part] * 50), FORM, None, BIG)
    eight = read_body(multipart([part] * 400), FORM, None, BIG)
    assert eight.decoded == 8 * one.decoded and len(eight.forms) == 8 * len(one.forms)


def test_the_mime_headers_are_found_in_one_pass() -> None:
    headers = [("Host", "x"), ("CONTENT-TYPE", "multipart/mixed"), ("Content-Type", "y"),
               ("Content-Transfer-Encoding", "base64")]  # fmt: skip
    assert mime_headers(headers) == ("multipart/mixed", "base64")
    assert mime_headers([("Transfer-Encoding", "chunked")]) == (None, None)
