"""MIME in HTTP bodies: multipart parts (RFC 2046 section 5.1) and transfer encodings.

A phone uploads a form (``multipart/form-data``) or a bundle (``multipart/mixed``,
``multipart/related``) whose parts carry their own ``Content-Transfer-Encoding``
(base64 in 76-column lines, quoted-printable; RFC 2045 section 6) and their own
``Content-Encoding``. An identifier inside is not in the body as sent: the base64
breaks it across a line, quoted-printable escapes it. :func:`read_body` reads a
body (already rid of its HTTP content codings) into :class:`MimeForm` s: each part
that needs decoding, transfer-decoded, with the codings left to remove and a label
for its chain ("multipart+base64"). Parts that need nothing are left to the search
of the body as sent.

Bounded: at most :data:`MAX_PARTS` parts read per body, multipart nested at most
:data:`MAX_DEPTH` deep, a part's header block at most :data:`MAX_PART_HEAD` bytes,
and the transfer-decoded bytes at most the ``limit`` given (the flow's decode
budget). What a bound stopped is said in :attr:`MimeReading.spent`. The cost is
linear in the body: each boundary is found with one ``bytes.find`` forward from the
last, and decoding is binascii's. Nothing here raises on hostile bytes.

A body declared ``Content-Transfer-Encoding: base64`` (or quoted-printable) without
being multipart is decoded too: some clients send MIME's header over HTTP.
A multipart part that is itself content-coded is searched decoded, but not read for
parts inside it (its decoded bytes are streamed, not kept).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from benches.analysis.protocols.http_codings import BodyCoding
from benches.analysis.protocols.sniff import MAGIC_STARTS, sniff

MAX_PARTS = 1024  # parts read in one body, nested ones included
MAX_DEPTH = 4  # multipart inside multipart inside ...
MAX_PART_HEAD = 16 * 1024  # a part's header block
MAX_BOUNDARY = 200  # RFC 2046 allows 70 characters; be lenient, not unbounded
MULTIPART = "multipart"
BASE64 = "base64"
QUOTED_PRINTABLE = "quoted-printable"
UNCODED = frozenset({"", "7bit", "8bit", "binary"})  # nothing to undo

_BOUNDARY = re.compile(r';\s*boundary\s*=\s*(?:"([^"]*)"|([^\s;"]+))', re.IGNORECASE)
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET + b"-_")
_URL_SAFE = bytes.maketrans(b"-_", b"+/")


@dataclass(frozen=True, slots=True)
class MimeForm:
    """A part (or body) worth searching again: its bytes after the transfer decoding."""

    label: str  # the chain so far: "multipart+base64", "multipart+multipart"
    coding: BodyCoding  # data: the transfer-decoded bytes; codings: its Content-Encoding
    decoded: bool  # the data is not the bytes as sent (a transfer decoding): search it


@dataclass
class MimeReading:
    forms: list[MimeForm] = field(default_factory=list)
    decoded: int = 0  # bytes the transfer decodings made (to charge to the decode budget)
    spent: str | None = None  # which bound stopped the reading, for people
    unsupported: str | None = None  # a transfer encoding with no decoder here
    parts: int = 0


def mime_headers(headers: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    """A message's Content-Type and Content-Transfer-Encoding (the first of each), in one
    pass that lower-cases only names of their lengths: it runs for every HTTP body."""
    content_type = transfer = None
    for name, value in headers:
        size = len(name)
        if size == 12 and content_type is None and name.lower() == "content-type":
            content_type = value
        elif size == 25 and transfer is None and name.lower() == "content-transfer-encoding":
            transfer = value
    return content_type, transfer


def wanted(content_type: str | None, transfer: str | None) -> bool:
    """Whether a body with these headers has anything for :func:`read_body` (cheap)."""
    if transfer is not None and transfer.strip().lower() not in UNCODED:
        return True
    return _multipart(content_type)


def read_body(
    body: bytes, content_type: str | None, transfer: str | None, limit: int, label: str = ""
) -> MimeReading:
    """The forms of ``body`` (labelled after ``label``, the chain that gave the body),
    transfer-decoding at most ``limit`` bytes."""
    reading = MimeReading()
    _Reader(reading, limit).body(body, content_type, transfer, label, 0)
    return reading


def boundary(content_type: str) -> bytes | None:
    """The ``boundary`` parameter of a multipart Content-Type, or None."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None
    value = (found.group(1) if found.group(1) is not None else found.group(2)).strip()
    if not value or len(value) > MAX_BOUNDARY:
        return None
    return value.encode("latin-1", "replace")


def decode_base64(text: bytes) -> bytes:
    """Base64 (or base64url) with line breaks and any other stray bytes removed."""
    clean = text.translate(_URL_SAFE, _NOT_BASE64)
    clean = clean[: len(clean) - len(clean) % 4 if len(clean) % 4 == 1 else len(clean)]
    clean += b"=" * (-len(clean) % 4)
    try:
        return binascii.a2b_base64(clean)
    except binascii.Error:  # not reached with the alphabet and padding above
        return b""


def decode_quoted_printable(text: bytes) -> bytes:
    return binascii.a2b_qp(text)


_TRANSFER = {BASE64: decode_base64, QUOTED_PRINTABLE: decode_quoted_printable}


class _Reader:
    __slots__ = ("reading", "limit")

    def __init__(self, reading: MimeReading, limit: int) -> None:
        self.reading = reading
        self.limit = limit

    def body(
        self,
        data: bytes,
        content_type: str | None,
        transfer: str | None,
        label: str,
        depth: int,
        codings: tuple[str, ...] = (),
        *,
        part: bool = False,
    ) -> None:
        """A body or a part: transfer-decode it, read its parts if it is multipart, and keep
        it as a form when it needs searching again: transfer-decoded, content-coded, or
        (a part) starting with a compression magic (the body's own is the decoder's)."""
        reading = self.reading
        name = (transfer or "").strip().lower()
        decoded = False
        if name not in UNCODED:
            decode = _TRANSFER.get(name)
            if decode is None:
                reading.unsupported = reading.unsupported or name
                return
            room = self.limit - reading.decoded
            if room <= 0:
                reading.spent = reading.spent or "the decode budget"
                return
            data = decode(data)[:room]
            reading.decoded += len(data)
            label = _join(label, name)
            decoded = True
        if not codings and _multipart(content_type):
            if depth >= MAX_DEPTH:
                reading.spent = reading.spent or f"multipart nested more than {MAX_DEPTH} deep"
            else:
                assert content_type is not None
                self.parts(data, content_type, _join(label, MULTIPART), depth + 1)
        if decoded or codings or (part and data.startswith(MAGIC_STARTS) and sniff(data)):
            reading.forms.append(MimeForm(label, BodyCoding(data, False, codings), decoded))

    def parts(self, data: bytes, content_type: str, label: str, depth: int) -> None:
        mark = boundary(content_type)
        if mark is None:
            return
        delimiter = b"\n--" + mark
        # the first delimiter may open the body, with no line break before it
        if data.startswith(delimiter[1:]):
            at = len(delimiter) - 1
        else:
            found = data.find(delimiter)
            if found < 0:
                return
            at = found + len(delimiter)
        while True:
            if data.startswith(b"--", at):
                return  # the close delimiter
            if self.reading.parts >= MAX_PARTS:
                self.reading.spent = self.reading.spent or f"more than {MAX_PARTS} MIME parts"
                return
            self.reading.parts += 1
            line_end = data.find(b"\n", at)
            if line_end < 0:
                return
            start = line_end + 1
            end = data.find(delimiter, start)
            part = data[start:] if end < 0 else data[start : end - (data[end - 1 : end] == b"\r")]
            self.part(part, label, depth)
            if end < 0:
                return  # no close delimiter: the part ran to the end of the body
            at = end + len(delimiter)

    def part(self, part: bytes, label: str, depth: int) -> None:
        head_end, body_start = _head_end(part)
        if head_end < 0:
            return  # no header block's end within the bound: the part is as sent
        headers = _headers(part[:head_end])
        codings = tuple(
            c for c in reversed(_tokens(headers.get("content-encoding", ""))) if c != "identity"
        )
        content_type = headers.get("content-type")
        transfer = headers.get("content-transfer-encoding")
        self.body(part[body_start:], content_type, transfer, label, depth, codings, part=True)


def _head_end(part: bytes) -> tuple[int, int]:
    """Where a part's header block ends and its body starts; (-1, -1) when not in the bound.
    A part may have no header at all (it starts with the blank line)."""
    if part.startswith(b"\r\n"):
        return 0, 2
    if part.startswith(b"\n"):
        return 0, 1
    window = part[: MAX_PART_HEAD + 4]
    crlf, lf = window.find(b"\r\n\r\n"), window.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, crlf + 4
    if lf >= 0:
        return lf, lf + 2
    return -1, -1


def _headers(block: bytes) -> dict[str, str]:
    """A part's header fields by lower-cased name (the first of each; folding joined)."""
    headers: dict[str, str] = {}
    last = ""
    for raw in block.split(b"\n"):
        line = raw.rstrip(b"\r").decode("latin-1")
        if line[:1] in (" ", "\t") and last:
            headers[last] = f"{headers[last]} {line.strip()}"
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if colon and name and name not in headers:
            headers[name] = value.strip()
            last = name
    return headers


def _tokens(value: str) -> list[str]:
    return [t.strip().lower() for t in value.split(",") if t.strip()]


def _multipart(content_type: str | None) -> bool:
    if content_type is None:
        return False
    content_type = content_type.lstrip()
    return content_type[:1] in "mM" and content_type[:10].lower() == "multipart/"


def _join(label: str, name: str) -> str:
    return f"{label}+{name}" if label else name
