"""Base32 (RFC 4648 §6) around a form: the literal at each alignment, and the bits around it.

Base32 spells 5 bytes as 8 characters of 5 bits, so a form may start at any
of 5 byte offsets in a group, and its first and last characters share bits
with the bytes around it. :func:`base32_fragments` gives, for each offset, the
characters made of the form's bits alone; :func:`base32_context` decodes the
groups around a match so every bit of the form, and its neighbours, can be
checked, as :func:`~benches.analysis.detection.encodings.base64_context` does
for base64.

Decisions:

- One literal per offset, matched in any letter case: RFC 4648 base32 is
  upper case, but lower-case base32 is common (onion names, TOTP secrets,
  Go's and Python's lower-cased IDs), and its alphabet has no letter that
  means one thing in upper and another in lower case.
- Padding ('=') is never part of a literal: it only ends the text, and the
  decoder stops there either way, so padded and unpadded text match alike.
- The base32hex alphabet (§7, 0-9A-V) is left out: it is meant for sortable
  keys (DNSSEC NSEC3 hashes) rather than for carrying a value, and it would
  add five literals per form to the automaton for a spelling not seen in
  clients. Crockford's base32 (ULIDs) likewise.
"""

from __future__ import annotations

from dataclasses import dataclass

from benches.analysis.detection.radix import group_context

GROUP_BYTES = 5
GROUP_CHARS = 8
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Character -> its 5-bit value, either case; 0xFF for anything else ('=' included).
_VALUES = bytes(
    ALPHABET.find(bytes([b]).upper()) if bytes([b]).upper() in ALPHABET and b != 0x3D else 0xFF
    for b in range(256)
)


@dataclass(frozen=True)
class Base32Fragment:
    """Where a base32 literal's form sits: ``offset`` bytes into a 5-byte group."""

    data: bytes  # the form's bytes
    offset: int


def base32_fragments(data: bytes) -> list[bytes]:
    """The literal (upper case) for each offset 0 to 4 of ``data`` in a 5-byte group.

    At ``offset``, the literal is the characters made of ``data``'s bits alone: the
    first starts ``(-8 * offset) % 5`` bits into ``data`` (the bits before it share a
    character with the bytes before), and the last ends where whole characters stop.
    The bits are spelled from one integer, not by encoding ``bytes(offset) + data``
    five times (the stdlib's base32 encoder is pure Python).
    """
    value = int.from_bytes(data, "big")
    bits = 8 * len(data)
    fragments = []
    for offset in range(GROUP_BYTES):
        skip = -8 * offset % 5
        count = (bits - skip) // 5
        if count <= 0:  # too short to fill a character of its own
            fragments.append(b"")
            continue
        rest = bits - skip - 5 * count  # trailing bits, shared with the bytes after
        fragments.append(_spelled(value >> rest & ((1 << 5 * count) - 1), count))
    return fragments


# Every 10-bit value -> its two characters.
_PAIRS = [bytes([ALPHABET[high], ALPHABET[low]]) for high in range(32) for low in range(32)]


def _spelled(value: int, count: int) -> bytes:
    """The ``count`` base32 characters (upper case) of the ``5 * count``-bit ``value``."""
    if count % 2:
        value <<= 5  # a character of zero bits after, cut off below
    pairs = (count + 1) // 2
    text = b"".join([_PAIRS[value >> 10 * (pairs - 1 - i) & 0x3FF] for i in range(pairs)])
    return text[:count]


def base32_context(
    data: bytes, start: int, fragment: Base32Fragment, want: int = 2
) -> tuple[list[int], list[int]] | None:
    """Decode the base32 groups around a literal at ``start`` (radix.group_context):
    None if they are not the form; else the decoded bytes before and after it."""
    offset = fragment.offset
    return group_context(
        data, start, fragment.data, offset, want, _first_char(offset),
        (GROUP_CHARS, GROUP_BYTES), decode_prefix,
    )  # fmt: skip


def decode_prefix(text: bytes) -> bytes:
    """The whole bytes spelled by the longest base32 prefix of ``text`` (either case).

    Bits left over at the end (fewer than 8) are dropped, as a decoder does
    with the last character of unpadded text.
    """
    out = bytearray()
    bits = accumulated = 0
    for char in text:
        value = _VALUES[char]
        if value == 0xFF:
            break
        accumulated = (accumulated << 5 | value) & 0xFFF
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append(accumulated >> bits & 0xFF)
    return bytes(out)


def _first_char(offset: int) -> int:
    """The first character, at ``offset`` bytes into a group, without bits of the bytes before."""
    return (8 * offset + 4) // 5
