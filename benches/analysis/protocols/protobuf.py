"""Protobuf and gRPC bodies transcribed into text the detector and the location finder read.

A location sent in protobuf is an integer (E7 or E6 degrees in a varint, sint
or fixed field) or a double: no literal pattern can match a range of numbers
written in binary. So a body whose Content-Type says protobuf is walked, field
by field, without its schema, and written out as text, one line per field:

    1.3: 601699000 z=300849500
    1.4: 249384000 z=124692000
    2: "text as sent"

- a varint as its unsigned value, as int64 (``i=``) when its top bit is set (a
  negative int32/int64), as sint (zig-zag, ``z=``), and as E6 degrees
  (``e6=60.169900``) when it can be one;
- fixed64 as unsigned, signed and double (``d=``), fixed32 likewise with float
  (``f=``);
- a length-delimited field as a nested message when its bytes parse as one
  (up to :data:`MAX_DEPTH` deep), and as its bytes (a string, or raw bytes)
  when they are text or no message.

The text is then searched as any decoded body layer: the decimal digits of an
identifier (with no length byte next to them that reads as a digit), an E7
pair, a double pair.

gRPC (``application/grpc``, ``+proto``, ``grpc-web``, ``grpc-web-text``): each
message has a 5-byte prefix, a compressed flag and a length; a compressed one
is inflated per ``grpc-encoding`` (gzip, deflate, identity) within the budget,
one with another encoding is not read (``unread``, the caller's
DECODER_GAVE_UP note).

Bounds: nesting :data:`MAX_DEPTH`, :data:`MAX_FIELDS` fields per body, the
text at most ``limit`` bytes (the flow's decode budget, charged by the caller),
a varint at most 10 bytes. Each byte of the body is read at most once per
nesting level: the work is linear in the body (times the depth). Groups
(wire types 3 and 4, deprecated) make a message unreadable: its bytes are
then written as bytes. Nothing here raises on hostile bytes.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from dataclasses import dataclass, field

from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP

MAX_DEPTH = 8  # nested messages walked; deeper ones are written as bytes
MAX_FIELDS = 1 << 20  # fields one body may hold before the walk stops
GRPC_PREFIX = 5  # compressed flag, then the message length (4 bytes, big-endian)
GRPC_TRAILERS = 0x80  # grpc-web: a frame of trailers (text), not a message
E6_LOW, E6_HIGH = 1_000, 180_000_000  # an integer that can be E6 degrees (0.001 to 180)
_UINT64 = 1 << 64
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_CONTROLS = {9: None, 10: None, 13: None}

PROTOBUF_TYPES = frozenset(
    {
        "application/x-protobuf",
        "application/protobuf",
        "application/vnd.google.protobuf",
        "application/x-protobuffer",
    }
)
GRPC_CODINGS = ("identity", "gzip", "deflate")


def body_kind(content_type: str | None) -> str | None:
    """ "protobuf", "grpc", "grpc-web-text" or None: how a Content-Type says to read the body."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media in PROTOBUF_TYPES:
        return "protobuf"
    if media.startswith("application/grpc-web-text"):
        return "grpc-web-text"
    if media.startswith("application/grpc"):
        return "grpc"
    return None


@dataclass
class Transcript:
    """A body written out as text, and what kept any of it from being read."""

    label: str  # the decoding chain: "protobuf", "grpc+protobuf", "grpc+gzip+protobuf"
    text: bytes = b""
    error: str | None = None  # the body (or a message of it) is not protobuf: DECODER_GAVE_UP
    unread: str | None = None  # a gRPC message in an encoding not read: DECODER_GAVE_UP
    capped: str | None = None  # a bound stopped the walk: BUDGET_SPENT
    work: int = 0  # bytes walked, over every nesting level tried: the cost, for tests
    inflated: int = 0  # bytes of compressed gRPC messages inflated

    def notes(self, where: str) -> list[tuple[str, str]]:
        """(kind, detail) of the flow notes this body calls for; ``where``: "the POST at
        frame 12". DECODER_GAVE_UP is informational (the bytes were searched as sent);
        BUDGET_SPENT makes the verdict inconclusive."""
        found = [
            (DECODER_GAVE_UP, f"{self.label} body of {where} could not be read: {why}")
            for why in (self.error, self.unread)
            if why is not None
        ]
        if self.capped is not None:
            found.append(
                (
                    BUDGET_SPENT,
                    f"reading the {self.label} body of {where} stopped at {self.capped}:"
                    " the rest was searched only as sent",
                )
            )
        return found

    @property
    def cost(self) -> int:
        """Decoded bytes to charge to the flow's budget: the text and what was inflated."""
        return len(self.text) + self.inflated


def transcribe(kind: str, data: bytes, limit: int, grpc_encoding: str | None = None) -> Transcript:
    """The text of a body of ``kind`` (see :func:`body_kind`), at most ``limit`` bytes."""
    if kind == "protobuf":
        walk = _Walk(limit)
        walk.message(data, "the body")
        return walk.result("protobuf")
    if kind == "grpc-web-text":
        try:
            data = base64.b64decode(b"".join(data.split()), validate=False)
        except (binascii.Error, ValueError) as error:
            return Transcript("grpc-web-text", error=f"not base64: {error}")
        return _grpc(data, limit, grpc_encoding, "grpc-web-text")
    return _grpc(data, limit, grpc_encoding, "grpc")


def _grpc(data: bytes, limit: int, encoding: str | None, name: str) -> Transcript:
    walk = _Walk(limit)
    coding = (encoding or "identity").strip().lower()
    used = ""
    position = 0
    number = 0
    while position < len(data) and walk.capped is None:
        number += 1
        if len(data) - position < GRPC_PREFIX:
            left = len(data) - position
            walk.error = walk.error or f"gRPC message {number}: {left} bytes, no 5-byte prefix"
            break
        flag = data[position]
        size = int.from_bytes(data[position + 1 : position + GRPC_PREFIX], "big")
        start = position + GRPC_PREFIX
        end = start + size
        position = end
        if end > len(data):
            walk.error = walk.error or (
                f"gRPC message {number} says {size} bytes, {len(data) - start} follow"
            )
            end = len(data)  # what came is still read
        payload = data[start:end]
        if flag & GRPC_TRAILERS:
            walk.emit(payload + b"\n")
            continue
        if flag & 1 and coding != "identity":
            if coding not in GRPC_CODINGS:
                walk.unread = f"gRPC message {number} is compressed with {coding!r}"
                continue
            payload, why = _inflate(payload, coding, walk.room)
            walk.inflated += len(payload)
            if why is not None:
                walk.error = walk.error or f"gRPC message {number}: {coding}: {why}"
                continue
            used = f"+{coding}"
        walk.message(payload, f"gRPC message {number}")
    return walk.result(f"{name}{used}+protobuf")


def _inflate(data: bytes, coding: str, room: int) -> tuple[bytes, str | None]:
    """A compressed gRPC message, at most ``room + 1`` bytes of it (more: over budget)."""
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, room + 1)
    except zlib.error as error:
        return b"", str(error)
    return out, None


@dataclass
class _Walk:
    """One body's walk: the text so far, the bounds, what went wrong."""

    limit: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    inflated: int = 0
    fields: int = 0
    work: int = 0
    error: str | None = None
    unread: str | None = None
    capped: str | None = None

    @property
    def room(self) -> int:
        return max(self.limit - self.size - self.inflated, 0)

    def result(self, label: str) -> Transcript:
        text = b"".join(self.parts)
        found = Transcript(label, text, self.error, self.unread, self.capped, self.work)
        found.inflated = self.inflated
        return found

    def emit(self, text: bytes) -> None:
        if self.capped is not None:
            return
        if len(text) > self.room:
            text = text[: self.room]
            self.capped = f"the decode budget ({self.limit} bytes of text)"
        self.parts.append(text)
        self.size += len(text)

    def message(self, data: bytes, what: str) -> None:
        """A top-level message: its lines, and why it is not protobuf if it is not. The
        fields before the bytes that are not are kept: a body cut short by the capture
        still says what it held up to there."""
        lines: list[bytes] = []
        why = self._fields(data, b"", 0, lines)
        for line in lines:
            self.emit(line)
        if self.fields > MAX_FIELDS:
            self.capped = self.capped or f"{MAX_FIELDS} fields"
        elif why is not None:
            self.error = self.error or f"{what} is not protobuf: {why}"

    def _fields(self, data: bytes, path: bytes, depth: int, lines: list[bytes]) -> str | None:
        """Append one line per field of the message ``data``; None, or why it is no message."""
        position, end = 0, len(data)
        self.work += end
        while position < end:
            self.fields += 1
            if self.fields > MAX_FIELDS:
                return f"over {MAX_FIELDS} fields"
            tag, position = _varint(data, position)
            if tag is None:
                return "a tag runs past the end"
            number, wire = tag >> 3, tag & 7
            if number == 0 or number >= 1 << 29:
                return f"field number {number}"
            name = path + str(number).encode()
            if wire == 0:
                value, position = _varint(data, position)
                if value is None:
                    return "a varint runs past the end or over 10 bytes"
                lines.append(name + b": " + _integer(value) + b"\n")
            elif wire == 1:
                if position + 8 > end:
                    return "a fixed64 runs past the end"
                lines.append(name + b": " + _fixed(data[position : position + 8], 64) + b"\n")
                position += 8
            elif wire == 5:
                if position + 4 > end:
                    return "a fixed32 runs past the end"
                lines.append(name + b": " + _fixed(data[position : position + 4], 32) + b"\n")
                position += 4
            elif wire == 2:
                size, position = _varint(data, position)
                if size is None or size > end - position:
                    return "a length runs past the end"
                self._bytes(data[position : position + size], name, depth, lines)
                position += size
            else:
                return f"wire type {wire}"
        return None

    def _bytes(self, value: bytes, name: bytes, depth: int, lines: list[bytes]) -> None:
        """A length-delimited field: a nested message if it parses as one; its bytes if they
        are text or no message (both when text parses too: rare, and linear)."""
        nested: list[bytes] = []
        parsed = (
            bool(value)
            and depth + 1 < MAX_DEPTH
            and self._fields(value, name + b".", depth + 1, nested) is None
        )
        if parsed:
            lines.extend(nested)
        if not parsed or _text(value):
            lines.append(name + b': "' + value + b'"\n')


def _varint(data: bytes, position: int) -> tuple[int | None, int]:
    value = shift = 0
    for index in range(position, min(position + 10, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (value, index + 1) if value < _UINT64 else (None, index + 1)
        shift += 7
    return None, position


def _integer(value: int) -> bytes:
    """A varint's readings: unsigned, int64 if negative, zig-zag, E6 degrees if it can be."""
    text = str(value)
    readings = [value]
    if value >= 1 << 63:
        signed = value - _UINT64
        text += f" i={signed}"
        readings.append(signed)
    zigzag = (value >> 1) ^ -(value & 1)
    text += f" z={zigzag}"
    readings.append(zigzag)
    return (text + _e6(readings)).encode()


def _fixed(raw: bytes, bits: int) -> bytes:
    """fixed64/fixed32: unsigned, signed if negative, the double or float, E6 if it can be."""
    unsigned = int.from_bytes(raw, "little")
    signed = unsigned - (1 << bits) if unsigned >> (bits - 1) else unsigned
    text = str(unsigned) + (f" i={signed}" if signed < 0 else "")
    real = struct.unpack("<d" if bits == 64 else "<f", raw)[0]
    if math.isfinite(real):
        text += f" d={real!r}" if bits == 64 else f" f={real:.7g}"
    return (text + _e6([signed])).encode()


def _e6(readings: list[int]) -> str:
    found = [n for n in dict.fromkeys(readings) if E6_LOW <= abs(n) <= E6_HIGH]
    return "".join(f" e6={n / 1e6:.6f}" for n in found)


def _text(value: bytes) -> bool:
    """Printable ASCII, or UTF-8 text with no control characters but tab and newlines."""
    if value.isascii():
        return not value.translate(None, _PRINTABLE)
    try:
        decoded = value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return decoded.translate(_CONTROLS).isprintable()
