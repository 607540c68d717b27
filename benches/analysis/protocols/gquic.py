"""Google QUIC's client hello (CHLO): its server name and user agent, in cleartext.

Before Google moved to TLS, its QUIC (versions Q024 to Q050) opened with a
"CHLO" handshake message: a tag-value map whose ``SNI`` tag is the server name
and whose ``UAID`` tag is the client's user agent. Up to Q046 the packet that
carries it is not encrypted (a 12-byte hash stands where the AEAD tag will
be), so the CHLO is plain on the wire:

- Q024 to Q043: Google's public header (flags, 8-byte connection ID, version
  "Q0xx", packet number), the hash, a private-flags byte before Q034, then
  frames; the CHLO rides in a STREAM frame on stream 1, the crypto stream;
- Q046: the same frames behind an IETF-style long header whose connection ID
  lengths are packed in one byte (0x50: an 8-byte destination ID).

Q050 encrypts its Initials like IETF QUIC (:mod:`~benches.analysis.protocols.quic`
decrypts them) and carries the same CHLO in them. The layouts follow Chromium's
QUIC wire format as Wireshark's packet-gquic.c reads it. Hostile bytes never raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from benches.analysis.protocols.tls import normalise_name

CHLO = b"CHLO"
TAG_SNI, TAG_UAID = b"SNI\x00", b"UAID"
MAX_TAGS = 128  # a CHLO holds about twenty
CRYPTO_STREAM = 1
HASH = 12  # the message authentication hash of a packet sent before keys exist
PUBLIC_VERSION, PUBLIC_CID, PUBLIC_RESERVED = 0x01, 0x08, 0x80
PACKET_NUMBER_SIZES = (1, 2, 4, 6)
GOOGLE_VERSION = re.compile(rb"[QT]0[0-9][0-9]")
Q046 = 0x51303436
# Frame types of Google QUIC before its IETF-style frames.
PADDING, STOP_WAITING, PING = 0x00, 0x06, 0x07
STREAM = 0x80


@dataclass(frozen=True)
class GoogleHello:
    """A CHLO's names: the server the client asked for, and its user agent."""

    sni: str | None
    user_agent: str | None


@dataclass(frozen=True)
class GooglePacket:
    """A client packet of a cleartext Google QUIC version (Q024 to Q043, Q046)."""

    version: int
    cid: bytes
    crypto: tuple[tuple[int, bytes], ...]  # (offset, data) on the crypto stream


def version_number(tag: bytes) -> int | None:
    """The number in a version tag such as b"Q043", or None if it is not one."""
    if not GOOGLE_VERSION.fullmatch(tag):
        return None
    return int(tag[1:4])


def cleartext_version(version: int) -> bool:
    """Whether a Google version sends its CHLO in a cleartext packet this module reads."""
    tag = version.to_bytes(4, "big")
    number = version_number(tag)
    return tag[:1] == b"Q" and number is not None and (24 <= number <= 43 or version == Q046)


def public_header_version(datagram: bytes) -> int | None:
    """The version of a Google public header that carries one (Q043 and before), or None."""
    if len(datagram) < 13:
        return None
    flags = datagram[0]
    if flags & PUBLIC_RESERVED or not flags & PUBLIC_VERSION or not flags & PUBLIC_CID:
        return None
    tag = datagram[9:13]
    return int.from_bytes(tag, "big") if version_number(tag) is not None else None


def cleartext_packet(datagram: bytes) -> GooglePacket | None:
    """The crypto-stream data of a cleartext Google QUIC client packet, or None."""
    try:
        return _cleartext_packet(datagram)
    except Exception:  # defensive: hostile bytes must never stop the analysis
        return None


def _cleartext_packet(datagram: bytes) -> GooglePacket | None:
    if datagram[:1] and datagram[0] & 0xC0 == 0xC0 and datagram[1:5] == b"Q046":
        if len(datagram) < 6 or datagram[5] != 0x50:  # 8-byte destination ID, no source ID
            return None
        pn_size = (datagram[0] & 0x03) + 1
        cid, at, tag = datagram[6:14], 14 + pn_size, datagram[1:5]
    else:
        version = public_header_version(datagram)
        if version is None or not cleartext_version(version):
            return None
        # A client's packets carry no diversification nonce: 0x04 in its flags is left
        # from the older two-bit connection ID length (0x0c: 8 bytes).
        pn_size = PACKET_NUMBER_SIZES[(datagram[0] >> 4) & 0x03]
        cid, at, tag = datagram[1:9], 13 + pn_size, datagram[9:13]
    number = int(tag[1:4])
    at += HASH + (1 if number < 34 else 0)  # the private flags went in Q034
    if at >= len(datagram):
        return None
    crypto = _stream_frames(datagram, at, pn_size, big_endian=number >= 39, number=number)
    if not crypto:
        return None
    return GooglePacket(int.from_bytes(tag, "big"), cid, crypto)


def _stream_frames(
    data: bytes, at: int, pn_size: int, *, big_endian: bool, number: int
) -> tuple[tuple[int, bytes], ...]:
    """The crypto stream's STREAM frames from ``at``; where a frame is not understood (an
    ACK, say), a CHLO after it is taken as the stream's start."""
    order: Literal["big", "little"] = "big" if big_endian else "little"
    frames: list[tuple[int, bytes]] = []
    while at < len(data):
        kind = data[at]
        at += 1
        if kind & STREAM:
            id_size = (kind & 0x03) + 1
            offset_code = (kind >> 2) & 0x07
            offset_size = offset_code + 1 if offset_code else 0
            has_length = bool(kind & 0x20)
            stream = int.from_bytes(data[at : at + id_size], order)
            at += id_size
            offset = int.from_bytes(data[at : at + offset_size], order)
            at += offset_size
            if has_length:
                length = int.from_bytes(data[at : at + 2], order)
                at += 2
            else:
                length = len(data) - at
            if at + length > len(data):
                break
            if stream == CRYPTO_STREAM:
                frames.append((offset, data[at : at + length]))
            at += length
        elif kind == PADDING:
            break  # the rest of the packet is padding
        elif kind == PING:
            continue
        elif kind == STOP_WAITING:
            at += pn_size + (1 if number < 34 else 0)
        else:
            start = data.find(CHLO, at)
            if start >= 0 and not frames:
                frames.append((0, data[start:]))
            break
    return tuple(frames)


def parse_chlo(message: bytes) -> GoogleHello | None:
    """The names in a CHLO handshake message (tag, tag count, tag/end-offset pairs,
    values; integers little-endian), or None if it is not one. A message cut short
    gives the tags whose values are whole."""
    if message[:4] != CHLO or len(message) < 8:
        return None
    count = min(int.from_bytes(message[4:6], "little"), MAX_TAGS)
    values = 8 + 8 * count
    tags: dict[bytes, bytes] = {}
    previous = 0
    for i in range(count):
        entry = 8 + 8 * i
        if entry + 8 > len(message):
            break
        tag = message[entry : entry + 4]
        end = int.from_bytes(message[entry + 4 : entry + 8], "little")
        if end < previous or values + end > len(message):
            break
        tags[tag] = message[values + previous : values + end]
        previous = end
    sni = normalise_name(tags[TAG_SNI]) if TAG_SNI in tags else None
    agent = tags.get(TAG_UAID)
    user_agent = agent.decode("ascii", "replace") if agent is not None else None
    return GoogleHello(sni, user_agent)


def chlo_complete(stream: bytes) -> bool:
    """Whether a crypto stream holds a whole CHLO (its last value included)."""
    if len(stream) < 8:
        return False
    count = min(int.from_bytes(stream[4:6], "little"), MAX_TAGS)
    table_end = 8 + 8 * count
    if len(stream) < table_end:
        return False
    last = int.from_bytes(stream[table_end - 4 : table_end], "little") if count else 0
    return len(stream) >= table_end + last
