"""The TLS ClientHello's server name, and the name form every protocol reader normalises to.

Every byte here was written by the network, and a phone under test is not a
friend: each parser reads defensively, returns None on anything it does not
understand, and never raises.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientHello:
    """A TLS ClientHello: enough to say the flow is TLS and which name it asked for."""

    sni: str | None  # server_name extension (host_name type), normalised
    legacy_version: int  # e.g. 0x0303


def normalise_name(raw: bytes | str) -> str | None:
    """Lower-case a DNS-style name and drop the trailing dot; None if it is not text."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
    else:
        text = raw
    text = text.strip().rstrip(".").lower()
    if not text or len(text) > 253 or not text.isprintable() or " " in text:
        return None
    return text


# --- TLS -------------------------------------------------------------------

TLS_HANDSHAKE = 22
TLS_CLIENT_HELLO = 1
TLS_MAX_RECORD = (1 << 14) + 2048
SNI_EXTENSION = 0
SNI_HOST_NAME = 0


class _Short(Exception):
    """Ran out of bytes while parsing."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.data):
            raise _Short
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.uint(length_bytes))


def parse_tls_client_hello(data: bytes) -> ClientHello | None:
    """The ClientHello at the start of a client's byte stream, or None.

    The handshake may span several records; a ClientHello cut short by the
    capture still counts as TLS, with its SNI if the cut came after it.
    """
    handshake = _handshake_bytes(data)
    return None if handshake is None else parse_client_hello_message(handshake)


def parse_client_hello_message(handshake: bytes) -> ClientHello | None:
    """A ClientHello handshake message without the TLS record header, or None.

    QUIC carries the handshake this way, in CRYPTO frames (RFC 9001 section 4).
    A message cut short still counts, with its SNI if the cut came after it.
    """
    if len(handshake) < 6 or handshake[0] != TLS_CLIENT_HELLO:
        return None
    body = _Reader(handshake[4 : 4 + int.from_bytes(handshake[1:4], "big")])
    legacy_version = int.from_bytes(handshake[4:6], "big")
    if legacy_version >> 8 != 3:
        return None
    try:
        body.take(2 + 32)  # legacy version, random
        if len(body.vector(1)) > 32:  # session id
            return None
        body.vector(2)  # cipher suites
        body.vector(1)  # compression methods
        if body.offset == len(body.data):
            return ClientHello(None, legacy_version)  # no extensions at all
        length = body.uint(2)
        # A cut inside the extensions still leaves the ones before the cut readable.
        extensions = _Reader(body.data[body.offset : body.offset + length])
    except _Short:
        return ClientHello(None, legacy_version)
    return ClientHello(_sni(extensions), legacy_version)


def _handshake_bytes(data: bytes) -> bytes | None:
    """Concatenate the handshake fragments of the leading TLS handshake records."""
    fragments = []
    offset = 0
    while offset + 5 <= len(data):
        content_type, major, _minor, length = struct.unpack_from("!BBBH", data, offset)
        if content_type != TLS_HANDSHAKE or major != 3 or not 0 < length <= TLS_MAX_RECORD:
            break
        fragments.append(data[offset + 5 : offset + 5 + length])
        offset += 5 + length
    return b"".join(fragments) if fragments else None


def _sni(extensions: _Reader) -> str | None:
    try:
        while extensions.offset < len(extensions.data):
            kind = extensions.uint(2)
            payload = extensions.vector(2)
            if kind != SNI_EXTENSION:
                continue
            names = _Reader(_Reader(payload).vector(2))
            while names.offset < len(names.data):
                name_type = names.uint(1)
                name = names.vector(2)
                if name_type == SNI_HOST_NAME:
                    return normalise_name(name)
            return None
    except _Short:
        return None
    return None
