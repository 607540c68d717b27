"""The encodings of a form: the bytes that spell it on the wire, and how to read around them.

Each encoder turns one :class:`~benches.analysis.detection.forms.Form` into zero or more
:class:`Encoded` literals. A literal is matched either case-insensitively
(``exact=False``: the detector searches lower-cased data) or byte for byte
(``exact=True``: base64, raw bytes, percent-escaped binary). Where the
characters around a match can be decoded (plain text, hex, ``\\u`` escapes,
percent-encoding), a :class:`CharReader` decodes them so the form's boundary is
checked on what they mean: ``\\u0039`` before an encoded IMEI is a digit.

Encoding names: plain, raw, url, url-double, base64, base64url, base32, hex,
hex-utf16le, hex-utf16be, json-u, md5-hex, md5-base64, md5-base64url, sha1-hex,
sha1-base64, sha1-base64url, sha256-hex, sha256-base64, sha256-base64url; and the binary
numbers of :func:`binary_numbers`: protobuf-varint, protobuf-zigzag, int64-be, int64-le.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from benches.analysis.detection.base32 import Base32Fragment, base32_context, base32_fragments
from benches.analysis.detection.forms import HEX, Boundary, Form, Suffix
from benches.analysis.detection.radix import group_context

DIGESTS = ("md5", "sha1", "sha256")
URL_SAFE = bytes.maketrans(b"+/", b"-_")


@dataclass(frozen=True)
class Base64Fragment:
    """Where a base64 literal's form sits: ``offset`` bytes into a 3-byte group."""

    data: bytes  # the form's bytes
    offset: int


Fragment = Base64Fragment | Base32Fragment


@dataclass(frozen=True)
class Encoded:
    encoding: str
    literal: bytes
    exact: bool  # compare byte for byte; otherwise any letter case matches
    reader: str | None = None  # a READERS key: how to decode the neighbours; None: no check
    boundary: Boundary | None = None
    suffix: Suffix | None = None  # decoded digits that must follow the literal (IMEISV)
    fragment: Fragment | None = None  # a base64 or base32 literal, checked by decoding around it

    def __init__(
        self, encoding: str, literal: bytes, exact: bool, reader: str | None = None,
        boundary: Boundary | None = None, suffix: Suffix | None = None,
        fragment: Fragment | None = None,
    ) -> None:  # fmt: skip
        # Not the frozen dataclass's __init__ (object.__setattr__ once a field): one dict
        # set at once, for the 11,000 literals a rack has (as detector.IdentifierPattern).
        _SET(self, "__dict__", {
            "encoding": encoding, "literal": literal, "exact": exact, "reader": reader,
            "boundary": boundary, "suffix": suffix, "fragment": fragment,
        })  # fmt: skip


_SET = object.__setattr__


Encoder = Callable[[Form], list[Encoded]]


def plain(form: Form) -> list[Encoded]:
    if form.binary:
        return [Encoded("raw", form.data, exact=True)]
    reader = {"utf-16-le": "utf16le", "utf-16-be": "utf16be"}.get(form.codec, "plain")
    return [Encoded("plain", form.data, False, reader, form.boundary, form.suffix)]


def url(form: Form) -> list[Encoded]:
    """Percent-encoding, as a query string or form body writes it (space as %20 or +)."""
    if form.codec != "ascii":
        return []
    if form.binary:
        upper = quote(form.data, safe="").encode()
        lower = _lower_escapes(upper)
        return [Encoded("url", text, exact=True) for text in dict.fromkeys((upper, lower))]
    return [
        Encoded("url", text, False, "url", form.boundary, form.suffix) for text in _url_texts(form)
    ]


def url_double(form: Form) -> list[Encoded]:
    """Percent-encoding applied twice: ':' → %3A → %253A."""
    if form.codec != "ascii" or form.binary:
        return []
    twice = (quote(text, safe="").encode() for text in _url_texts(form))
    return [
        Encoded("url-double", text, False, "url-double", form.boundary, form.suffix)
        for text in dict.fromkeys(twice)
    ]


def _url_texts(form: Form) -> list[bytes]:
    """The distinct percent-encodings of a text form (none when encoding changes nothing)."""
    texts = (quote(form.data, safe="").encode(), quote_plus(form.data, safe="").encode())
    return [text for text in dict.fromkeys(texts) if text != form.data]


def _lower_escapes(text: bytes) -> bytes:
    parts = text.split(b"%")
    return parts[0] + b"".join(b"%" + part[:2].lower() + part[2:] for part in parts[1:])


def base64_any(form: Form) -> list[Encoded]:
    """The form inside base64 text, at each of the three byte offsets in a 3-byte group.

    The literal keeps only characters made of the form's bits alone: the first
    and last character at an offset also hold bits of the bytes around it. So
    a literal alone cannot tell "…12345" from "…12346" (the last digit's low
    bits are cut off); :func:`base64_context` decodes the groups around a
    match to check every bit, and the form's boundary on the decoded bytes.
    """
    text = form.codec == "ascii" and not form.binary
    boundary = form.boundary if text else None
    found = []
    for offset, literal in enumerate(base64_fragments(form.data)):
        where = Base64Fragment(form.data, offset)
        for name, spelled in (("base64", literal), ("base64url", literal.translate(URL_SAFE))):
            if name == "base64" or spelled != literal:
                found.append(Encoded(name, spelled, True, None, boundary, form.suffix, where))
    return found


def base64_fragments(data: bytes) -> list[bytes]:
    """The literal for each offset 0, 1, 2 of ``data`` in a 3-byte group."""
    fragments = []
    for offset in range(3):
        text = base64.b64encode(bytes(offset) + data)
        first = (8 * offset + 5) // 6  # first character without bits of the bytes before
        end = 8 * (offset + len(data)) // 6  # past the last character without bits after
        fragments.append(text[first:end])
    return fragments


def hex_text(form: Form) -> list[Encoded]:
    """Hex of the form's bytes, either case: the hex of ASCII text, or a BCD form's hex dump."""
    literal = form.data.hex().encode()
    if form.binary:
        # A SIM file's hex dump is a hex form of its own: another hex digit
        # before or after it makes it part of a longer dump of something else.
        return [Encoded("hex", literal, False, "plain", Boundary(HEX, HEX))]
    if form.codec != "ascii":
        return []  # the hex of UTF-16 text is hex-utf16le or -be of the text form
    return [Encoded("hex", literal, False, "hex", form.boundary, form.suffix)]


def base32_any(form: Form) -> list[Encoded]:
    """The form inside base32 text (RFC 4648 alphabet, either case, padded or not), at each
    of the five byte offsets in a 5-byte group.

    As for base64 (:func:`base64_any`), the literal keeps only characters made
    of the form's bits alone, and :func:`base32_context` decodes the groups
    around a match to check every bit and the form's boundary.
    """
    text = form.codec == "ascii" and not form.binary
    boundary = form.boundary if text else None
    return [
        Encoded("base32", literal, False, None, boundary, form.suffix, Base32Fragment(form.data, i))
        for i, literal in enumerate(base32_fragments(form.data))
    ]


def hex_utf16(form: Form) -> list[Encoded]:
    """Hex of the text's UTF-16LE and UTF-16BE bytes, either case: "3300350032…" for "352…".

    The neighbours are read as hex UTF-16 code units, so the form's boundary
    holds as it does in plain text: another digit's "3900" before an IMEI
    makes it part of a longer number.
    """
    if form.binary or form.codec != "ascii":
        return []
    try:
        chars = form.data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return [
        Encoded(name, chars.encode(codec).hex().encode(), False, name, form.boundary, form.suffix)
        for name, codec in (("hex-utf16le", "utf-16-le"), ("hex-utf16be", "utf-16-be"))
    ]


def json_u(form: Form) -> list[Encoded]:
    """Every character as a JSON ``\\u00XX`` escape (hex digits in either case)."""
    if form.binary or form.codec != "ascii" or not form.data.isascii():
        return []
    literal = "".join(f"\\u{byte:04x}" for byte in form.data).encode()
    return [Encoded("json-u", literal, False, "json-u", form.boundary, form.suffix)]


def digests(form: Form) -> list[Encoded]:
    """MD5, SHA-1 and SHA-256 of the form: hex in either case, base64 and base64url unpadded.

    A digest is 128 bits or more: no boundary is needed, and none is checked,
    because tracking IDs often concatenate a digest with other hex.
    """
    if form.binary or form.suffix:
        return []
    found = []
    for name in DIGESTS:
        digest = hashlib.new(name, form.data).digest()
        found.append(Encoded(f"{name}-hex", digest.hex().encode(), exact=False))
        std = base64.b64encode(digest).rstrip(b"=")
        found.append(Encoded(f"{name}-base64", std, exact=True))
        safe = std.translate(URL_SAFE)
        if safe != std:
            found.append(Encoded(f"{name}-base64url", safe, exact=True))
    return found


# --- binary numbers ------------------------------------------------------------

# A numeric identifier sent as a number, not as digits: a protobuf varint
# (uint64/int64, or sint64's zig-zag), or a fixed 64-bit integer either way round.
# Only the forms that are one whole number (the IMEI with or without its check
# digit, the IMSI, the ICCID as given or completed) have one; a number of
# 2^64 or more (a 20-digit ICCID: 89... > 1.8e19) has no 64-bit form at all.
BINARY_NUMBERS = ("protobuf-varint", "protobuf-zigzag", "int64-be", "int64-le")
NUMBER_FORMS = frozenset({"imei-15", "imei-14", "imsi", "iccid", "iccid-19", "iccid-luhn"})
UINT64 = 1 << 64
# A varint's bytes but the last have the top bit set: one before the literal with it
# set makes the literal the tail of a longer varint, another number.
VARINT_EDGE = Boundary(frozenset(range(0x80, 0x100)), frozenset())


def varint(value: int) -> bytes:
    """Protobuf's base-128 varint: seven bits a byte, least significant first."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def binary_numbers(form: Form) -> list[Encoded]:
    """The form's digits as one binary number: varint, zig-zag varint, int64 BE and LE."""
    if form.name not in NUMBER_FORMS or not (form.data.isascii() and form.data.isdigit()):
        return []
    value = int(form.data)
    found = []
    if value < UINT64:
        found.append(Encoded("protobuf-varint", varint(value), True, "plain", VARINT_EDGE))
        found.append(Encoded("int64-be", value.to_bytes(8, "big"), exact=True))
        found.append(Encoded("int64-le", value.to_bytes(8, "little"), exact=True))
    if 2 * value < UINT64:  # sint64: zig-zag maps n >= 0 to 2n
        found.append(Encoded("protobuf-zigzag", varint(2 * value), True, "plain", VARINT_EDGE))
    return found


ENCODERS: tuple[Encoder, ...] = (
    plain,
    url,
    url_double,
    base64_any,
    base32_any,
    hex_text,
    hex_utf16,
    json_u,
    digests,
    binary_numbers,
)
ENCODINGS: tuple[str, ...] = (
    "plain",
    "raw",
    "url",
    "url-double",
    "base64",
    "base64url",
    "base32",
    "hex",
    "hex-utf16le",
    "hex-utf16be",
    "json-u",
    *(f"{name}-{text}" for name in DIGESTS for text in ("hex", "base64", "base64url")),
    *BINARY_NUMBERS,
)


def encodings(form: Form) -> list[Encoded]:
    return [encoded for encoder in ENCODERS for encoded in encoder(form)]


# --- reading around a match --------------------------------------------------

# (character, bytes it takes); a character that is not ASCII reads as NOT_ASCII.
Char = tuple[int, int]
NOT_ASCII = 0x100


class CharReader:
    """Decodes the characters before and after a match, as far as the encoding lets it."""

    def before(self, data: bytes, position: int, count: int) -> list[int]:
        found: list[int] = []
        while len(found) < count and position > 0:
            char = self.back(data, position)
            if char is None:
                break
            found.append(char[0])
            position -= char[1]
        return found

    def after(self, data: bytes, position: int, count: int) -> list[Char]:
        found: list[Char] = []
        while len(found) < count and position < len(data):
            char = self.forward(data, position)
            if char is None:
                break
            found.append(char)
            position += char[1]
        return found

    def back(self, data: bytes, position: int) -> Char | None:
        return data[position - 1], 1

    def forward(self, data: bytes, position: int) -> Char | None:
        return data[position], 1


class _Utf16(CharReader):
    def __init__(self, low_first: bool) -> None:
        self.low_first = low_first

    def back(self, data: bytes, position: int) -> Char | None:
        return self._unit(data[position - 2 : position]) if position >= 2 else None

    def forward(self, data: bytes, position: int) -> Char | None:
        return self._unit(data[position : position + 2]) if position + 2 <= len(data) else None

    def _unit(self, pair: bytes) -> Char:
        low, high = (pair[0], pair[1]) if self.low_first else (pair[1], pair[0])
        return (low if high == 0 else NOT_ASCII), 2


class _Hex(CharReader):
    def back(self, data: bytes, position: int) -> Char | None:
        return _hex_byte(data[position - 2 : position], 2) if position >= 2 else None

    def forward(self, data: bytes, position: int) -> Char | None:
        return _hex_byte(data[position : position + 2], 2)


class _HexUtf16(CharReader):
    """Four hex digits per character: one UTF-16 code unit, in either byte order.

    Where the hex around a match holds only one more byte (two hex digits), that
    byte is read as a character: UTF-16 text read in the wrong byte order matches
    one byte off, and then the last character before or after it is that lone
    byte ("39" + the big-endian IMEI's hex is the little-endian "9" + IMEI, cut).
    """

    def __init__(self, low_first: bool) -> None:
        self.low_first = low_first

    def back(self, data: bytes, position: int) -> Char | None:
        unit = self._unit(data[position - 4 : position]) if position >= 4 else None
        return unit or _hex_byte(data[max(position - 2, 0) : position], 2)

    def forward(self, data: bytes, position: int) -> Char | None:
        return self._unit(data[position : position + 4]) or _hex_byte(
            data[position : position + 2], 2
        )

    def _unit(self, text: bytes) -> Char | None:
        if len(text) != 4 or not all(c in HEX for c in text):
            return None
        first, second = int(text[:2], 16), int(text[2:], 16)
        code = second << 8 | first if self.low_first else first << 8 | second
        return min(code, NOT_ASCII), 4


class _JsonU(CharReader):
    def back(self, data: bytes, position: int) -> Char | None:
        return self._escape(data[position - 6 : position]) if position >= 6 else None

    def forward(self, data: bytes, position: int) -> Char | None:
        return self._escape(data[position : position + 6])

    def _escape(self, text: bytes) -> Char | None:
        if len(text) != 6 or text[:2] not in (b"\\u", b"\\U"):
            return None
        digits = text[2:]
        if not all(c in HEX for c in digits):
            return None
        code = int(digits, 16)
        return min(code, NOT_ASCII), 6


class _Url(CharReader):
    """Percent-escapes (``%3A``, or ``%253A`` when ``escape`` is ``%25``) and '+' for a space."""

    def __init__(self, escape: bytes) -> None:
        self.escape = escape
        self.width = len(escape) + 2

    def back(self, data: bytes, position: int) -> Char | None:
        start = position - self.width
        if start >= 0 and data[start : start + len(self.escape)] == self.escape:
            char = _hex_byte(data[position - 2 : position], self.width)
            if char is not None:
                return char
        return self._literal(data[position - 1])

    def forward(self, data: bytes, position: int) -> Char | None:
        if data[position : position + len(self.escape)] == self.escape:
            end = position + self.width
            char = _hex_byte(data[end - 2 : end], self.width)
            if char is not None:
                return char
        return self._literal(data[position])

    def _literal(self, byte: int) -> Char:
        return (0x20 if byte == 0x2B else byte), 1


def _hex_byte(pair: bytes, width: int) -> Char | None:
    if len(pair) == 2 and pair[0] in HEX and pair[1] in HEX:
        return int(pair, 16), width
    return None


_TO_STANDARD = bytes.maketrans(b"-_", b"+/")  # either alphabet decodes as one


def base64_context(
    data: bytes, start: int, fragment: Base64Fragment, want: int = 2
) -> tuple[list[int], list[int]] | None:
    """Decode the base64 groups around a literal at ``start`` (radix.group_context):
    None if they are not the form; else the decoded bytes before and after it."""
    offset = fragment.offset
    first = (8 * offset + 5) // 6  # the literal's first character in its group
    return group_context(data, start, fragment.data, offset, want, first, (4, 3), _decode_prefix)


def fragment_context(
    data: bytes, start: int, fragment: Fragment, want: int = 2
) -> tuple[list[int], list[int]] | None:
    """:func:`base64_context` or :func:`base32_context`, as the fragment is."""
    if isinstance(fragment, Base32Fragment):
        return base32_context(data, start, fragment, want)
    return base64_context(data, start, fragment, want)


_BASE64 = re.compile(rb"[A-Za-z0-9+/_-]*")


def _decode_prefix(text: bytes) -> bytes:
    """The bytes of the longest base64 prefix of ``text`` (either alphabet, padding optional)."""
    match = _BASE64.match(text)
    chars = match.group() if match else b""
    chars = chars[: len(chars) - len(chars) % 4 if len(chars) % 4 == 1 else len(chars)]
    padded = chars + b"=" * (-len(chars) % 4)
    return base64.b64decode(padded.translate(_TO_STANDARD))


READERS: dict[str, CharReader] = {
    "plain": CharReader(),
    "utf16le": _Utf16(low_first=True),
    "utf16be": _Utf16(low_first=False),
    "hex": _Hex(),
    "hex-utf16le": _HexUtf16(low_first=True),
    "hex-utf16be": _HexUtf16(low_first=False),
    "json-u": _JsonU(),
    "url": _Url(b"%"),
    "url-double": _Url(b"%25"),
}
