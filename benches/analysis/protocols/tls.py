"""Parsers for the TLS and HTTP fields the analyzer needs to name a destination (DNS: dnswire).

Every byte here was written by the network, and a phone under test is not a
friend: each parser reads defensively, returns None on anything it does not
understand, and never raises.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientHello:
    """A TLS ClientHello: enough to say the flow is TLS and which name it asked for."""

    sni: str | None  # server_name extension (host_name type), normalised
    legacy_version: int  # e.g. 0x0303


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    version: str  # "HTTP/1.1"
    host: str | None  # Host header without port, normalised; None when absent


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


# --- HTTP ------------------------------------------------------------------

MAX_HTTP_HEAD = 64 * 1024
_REQUEST_LINE = re.compile(rb"([A-Z][A-Z_-]{1,19}) ([\x21-\x7e]{1,8192}) (HTTP/1\.[01])\r?\n")


def parse_http_request(data: bytes) -> HttpRequest | None:
    """The HTTP/1.x request line and Host header at the start of a client stream."""
    try:
        return _http_request(data[:MAX_HTTP_HEAD])
    except Exception:  # defensive: nothing here should raise, but never let it
        return None


def _http_request(head: bytes) -> HttpRequest | None:
    line = _REQUEST_LINE.match(head)
    if line is None:
        return None
    host = None
    for raw in head[line.end() :].split(b"\n"):
        header = raw.rstrip(b"\r")
        if not header:
            break  # end of the header block
        name, sep, value = header.partition(b":")
        if sep and name.strip().lower() == b"host":
            host = host_name(value.strip())
            break
    return HttpRequest(
        method=line.group(1).decode("ascii"),
        target=line.group(2).decode("ascii"),
        version=line.group(3).decode("ascii"),
        host=host,
    )


def host_name(value: bytes) -> str | None:
    """Host header value without its port: "zfhmd.vnet.cn:80" → "zfhmd.vnet.cn"."""
    if value.startswith(b"["):  # IPv6 literal
        end = value.find(b"]")
        return normalise_name(value[1:end]) if end > 1 else None
    host, _, port = value.partition(b":")
    if port and not port.isdigit():
        return None
    return normalise_name(host)
