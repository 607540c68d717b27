"""What coding a body's first bytes announce, whatever its headers say (or when it has none).

A client may send gzip, zlib or zstd with no ``Content-Encoding`` (an octet-stream
upload, a raw TCP stream, a UDP datagram, a WebSocket message). Their magic numbers
give them away: gzip ``1f 8b`` (RFC 1952 section 2.3.1), zlib ``78`` then a second byte
that makes the 16-bit header a multiple of 31 (RFC 1950 section 2.2: ``78 01``,
``78 5e``, ``78 9c``, ``78 da`` are the four compression levels zlib writes), zstd
``28 b5 2f fd`` (RFC 8878 section 3.1.1).

:data:`MAGIC_STARTS` is for a hot path: one ``startswith`` (a C call) says whether
:func:`sniff` is worth calling. A coding sniffed is decoded as the stage named
``SNIFFED + name`` (:mod:`~benches.analysis.protocols.http_codings`), and a finding in
it is labelled so: ``sniffed-gzip+plain``.
"""

from __future__ import annotations

GZIP = "gzip"
ZLIB = "zlib"
ZSTD = "zstd"
SNIFFED = "sniffed-"  # the label of a coding no header named: "sniffed-gzip"

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZLIB_METHOD = 0x78  # deflate with a 32 KiB window: the only zlib header written in practice
ZLIB_LEVELS = frozenset({0x01, 0x5E, 0x9C, 0xDA})
SNIFF_LENGTH = len(ZSTD_MAGIC)  # the most bytes sniff() looks at
# Every start that sniff() may name: bytes that do not start so cost no call.
MAGIC_STARTS = (GZIP_MAGIC, bytes([ZLIB_METHOD]), ZSTD_MAGIC)


def sniff(head: bytes) -> str | None:
    """The coding (GZIP, ZLIB, ZSTD) that ``head`` (a body's first bytes) announces, or None."""
    if head.startswith(GZIP_MAGIC):
        return GZIP
    if head.startswith(ZSTD_MAGIC):
        return ZSTD
    if (
        len(head) >= 2
        and head[0] == ZLIB_METHOD
        and head[1] in ZLIB_LEVELS
        and (head[0] << 8 | head[1]) % 31 == 0  # FCHECK (all four levels pass it)
    ):
        return ZLIB
    return None


def sniffed(head: bytes) -> str | None:
    """The label of the coding ``head`` announces ("sniffed-gzip"), or None."""
    name = sniff(head)
    return None if name is None else SNIFFED + name
