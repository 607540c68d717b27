"""Reads the binder reply that `service call` prints: a status word, then a UTF-16 string.

`adb shell service call iphonesubinfo 4 i32 0 s16 com.android.shell` prints the
reply Parcel as libbinder's HexDump does::

    Result: Parcel(
      0x00000000: 00000000 0000000f 00350033 00340035 '........3.5.5.4.'
      0x00000010: 00300039 00360030 00390039 00370032 '9.0.0.6.9.9.2.7.'
      0x00000020: 00390033 00000034                   '3.9.4...        ')

Each hex word is four bytes of the Parcel shown as a little-endian int32, so
`00350033` is the bytes 33 00 35 00: "35" in UTF-16LE. A reply of 16 bytes or
less fits on one line, without offsets: `Result: Parcel(00000000 ffffffff   '........')`.
The quoted column is the same bytes, rendered lossily; it is only checked for length.

An AIDL method that returns a String replies with:

- an int32 exception code: 0 for none; otherwise the code, then the message as a String;
- a String16: an int32 length in UTF-16 units (-1 for null), the units, a NUL unit,
  and padding to a multiple of four bytes.
"""

from __future__ import annotations

import re
import struct

from benches.redaction.masks import mask

_RESULT = "Result: Parcel("
_WORD = re.compile(r"[0-9a-fA-F]{8}")
_LINE = re.compile(r"\s*0x([0-9a-fA-F]{8}): ([0-9a-fA-F ]+?) '(.*)'")
_SINGLE_LINE = re.compile(r"([0-9a-fA-F ]+?) '(.*)'")
# Runs that could spell an identifier in an excerpt (digits, hex words, '3.5.2.' columns).
_MAYBE_IDENTIFIER = re.compile(r"[0-9A-Fa-f.:-]{6,}")
BYTES_PER_LINE = 16

# android.os.Parcel's exception codes, for messages people can read.
EXCEPTIONS = {
    -1: "SecurityException",
    -2: "BadParcelableException",
    -3: "IllegalArgumentException",
    -4: "NullPointerException",
    -5: "IllegalStateException",
    -6: "NetworkOnMainThreadException",
    -7: "UnsupportedOperationException",
    -8: "ServiceSpecificException",
    -9: "ParcelableException",
}


class ParcelError(Exception):
    """The call gave no value; str() is one line."""


class UnreadableReply(ParcelError):
    """The output is not a Parcel dump, or the dump is not a String reply."""


class ServiceError(ParcelError):
    """The call reached the phone and failed there: an exception, a binder error, no service."""


def parse_string_reply(output: str) -> str | None:
    """The String a `service call` returned (None for null); raises a ParcelError otherwise."""
    return read_string_reply(parse_dump(output))


def parse_dump(output: str) -> bytes:
    """The bytes of the Parcel in `service call`'s output."""
    text = output.replace("\r\n", "\n").strip()
    if text.startswith("service: "):  # `service` itself complains, e.g. no such service
        raise ServiceError(_one_line(text[len("service: ") :]))
    start = text.find(_RESULT)
    if start < 0 or not text.endswith(")"):
        raise UnreadableReply(f"no `{_RESULT}...)` in {_excerpt(text)}")
    body = text[start + len(_RESULT) : -1]
    if body == "NULL":
        raise ServiceError("the reply is empty")
    if body.startswith("Error:"):
        raise ServiceError(f"binder error {_one_line(body[len('Error:') :].strip())}")
    if body.startswith("\n"):
        return _parse_lines(body.split("\n")[1:])
    return _parse_single_line(body)


def _parse_lines(lines: list[str]) -> bytes:
    data = bytearray()
    for number, line in enumerate(lines):
        match = _LINE.fullmatch(line)
        if match is None:
            raise UnreadableReply(f"dump line {number + 1} is not `0xOFFSET: WORDS 'TEXT'`")
        offset, hex_part, text = match.groups()
        if int(offset, 16) != len(data):
            raise UnreadableReply(f"dump line {number + 1} starts at 0x{offset}, not {len(data)}")
        words = _words(hex_part, number + 1)
        last = number == len(lines) - 1
        if len(words) != 4 and not last:
            raise UnreadableReply(f"dump line {number + 1} has {len(words)} words, not 4")
        if len(text) != BYTES_PER_LINE:
            raise UnreadableReply(f"dump line {number + 1} is cut short")
        data += _bytes(words)
    if len(data) <= BYTES_PER_LINE:  # HexDump prints those on one line
        raise UnreadableReply("a dump of 16 bytes or less on several lines")
    return bytes(data)


def _parse_single_line(body: str) -> bytes:
    match = _SINGLE_LINE.fullmatch(body)
    if match is None:
        raise UnreadableReply(f"not a Parcel dump: {_excerpt(body)}")
    words = _words(match.group(1), 1)
    if len(words) > 4 or len(match.group(2)) != 4 * len(words):
        raise UnreadableReply(f"not a one-line Parcel dump: {_excerpt(body)}")
    return _bytes(words)


def _words(hex_part: str, line: int) -> list[str]:
    words = hex_part.split()
    if not words or any(_WORD.fullmatch(word) is None for word in words):
        raise UnreadableReply(f"dump line {line} holds something other than 8-digit hex words")
    return words


def _bytes(words: list[str]) -> bytes:
    return b"".join(int(word, 16).to_bytes(4, "little") for word in words)


def read_string_reply(data: bytes) -> str | None:
    """Read the exception code and the String16 that follows it."""
    reader = _Reader(data)
    status = reader.int32()
    if status != 0:
        name = EXCEPTIONS.get(status, f"exception code {status}")
        try:
            message = reader.string16()
        except UnreadableReply:
            message = None
        raise ServiceError(f"{name}: {_one_line(message)}" if message else name)
    value = reader.string16()
    if reader.remaining():
        raise UnreadableReply(f"{reader.remaining()} bytes after the string")
    return value


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def remaining(self) -> int:
        return len(self.data) - self.position

    def int32(self) -> int:
        if self.remaining() < 4:
            raise UnreadableReply(f"the reply ends at byte {len(self.data)}, inside a 4-byte int")
        (value,) = struct.unpack_from("<i", self.data, self.position)
        self.position += 4
        return int(value)

    def string16(self) -> str | None:
        length = self.int32()
        if length == -1:
            return None
        size = 2 * length + 2  # the units and their NUL
        if length < 0 or size > self.remaining():
            raise UnreadableReply(f"a string of {length} units does not fit the reply")
        raw = self.data[self.position : self.position + size]
        if raw[-2:] != b"\0\0":
            raise UnreadableReply("the string has no NUL terminator")
        try:
            text = raw[:-2].decode("utf-16-le")
        except UnicodeDecodeError:
            raise UnreadableReply("the string is not valid UTF-16") from None
        self.position += min((size + 3) & ~3, self.remaining())
        return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _excerpt(text: str, limit: int = 60) -> str:
    """A short, masked quote of what the phone printed."""
    line = _MAYBE_IDENTIFIER.sub(lambda match: mask(match.group()), _one_line(text))
    return repr(line if len(line) <= limit else line[:limit] + "…")
