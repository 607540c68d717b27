"""Hostile captures, as an attacker (or an unlucky lab) would make them: small files that
cost a reader much. Built here, never committed as binaries; the tests and
benchmarks/hostile_bombs.py share them.

- decompression bombs: HTTP bodies whose brotli or gzip says tens of MiB of zeros
  in a hundred bytes, many of them in one TCP segment or across a few flows;
- text that costs the location search most: numbers near the bench that never pair;
- a leak placed before or after the bytes a decode budget pays for;
- a ``.gz`` capture that expands a thousandfold (gzip of repeated records).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli
from scapy.packet import Packet

from tests.support.pcaps import (
    FOTA_IP,
    PHONE_IP,
    RESOLVER_IP,
    START,
    TcpSession,
    dns_lookup,
    leaky_post_body,
    write_pcap,
)

MIB = 1 << 20
BOMB_ZEROS = 64 * MIB  # what one bomb says: as much as the analyzer's old cap per body
HOST = "fota.vendor.example"  # allowed by the tests' policy: only the leak (or its absence) judges


def brotli_bomb(zeros: int = BOMB_ZEROS, *, before: bytes = b"", after: bytes = b"") -> bytes:
    """Brotli of ``before``, ``zeros`` zero bytes, then ``after``: about 100 bytes."""
    return _streamed(brotli.Compressor(quality=5), zeros, before, after, "finish")


def gzip_bomb(zeros: int = BOMB_ZEROS, *, before: bytes = b"", after: bytes = b"") -> bytes:
    """gzip of the same: about a thousandth of ``zeros`` (deflate's limit is 1032:1)."""
    return _streamed(zlib.compressobj(9, zlib.DEFLATED, 31), zeros, before, after, "flush")


def _streamed(compressor: object, zeros: int, before: bytes, after: bytes, end: str) -> bytes:
    process: Callable[[bytes], bytes] = getattr(
        compressor, "process", getattr(compressor, "compress", None)
    )
    out = [process(before)]
    block = bytes(MIB)
    for start in range(0, zeros, MIB):
        out.append(process(block[: min(MIB, zeros - start)]))
    out.append(process(after))
    out.append(getattr(compressor, end)())
    return b"".join(out)


def text_bomb(unit: bytes, size: int = BOMB_ZEROS) -> bytes:
    """Brotli of ``unit`` repeated to ``size`` bytes: a few dozen bytes that decode to text
    the detector has to work at (numbers near the bench's coordinates, say)."""
    compressor = brotli.Compressor(quality=5)
    block = unit * (MIB // len(unit))
    out = [compressor.process(block) for _ in range(size // len(block))]
    return b"".join(out) + compressor.finish()


def coordinates_bomb_flow() -> list[Packet]:
    """One request whose brotli body decodes to 64 MiB of numbers near the tests'
    bench (60.1699, 24.9384) that never pair into a location: the detector's slow path."""
    body = text_bomb(b"60.169912345,")
    return _lookup() + _flow(coded_request(body), 41400, mss=len(body) + 400)


NEAR_MISS = b"59.73,25.80,"  # each in its band around the bench, every pair ~68 km from it


def near_miss_bomb_flow(
    size: int = BOMB_ZEROS, *, before: bytes = b"", after: bytes = b""
) -> list[Packet]:
    """One request whose brotli body (about 1 KB) decodes to ``size`` bytes of numbers of
    both the latitude and the longitude band around the tests' bench that never pair
    (59.73 is 49 km north of it, 25.80 48 km east: together 68 km, outside its 50 km),
    after ``before`` and before ``after``: every number is read and tried against its
    neighbours."""
    compressor = brotli.Compressor(quality=5)
    block = NEAR_MISS * (MIB // len(NEAR_MISS))
    out = [compressor.process(before)]
    out += [compressor.process(block[: min(MIB, size - at)]) for at in range(0, size, MIB)]
    body = b"".join(out) + compressor.process(after) + compressor.finish()
    return _lookup() + _flow(coded_request(body), 41450, mss=len(body) + 400)


def coded_request(body: bytes, coding: str = "br", host: str = HOST) -> bytes:
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Encoding: {coding}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _lookup() -> list[Packet]:
    return dns_lookup(PHONE_IP, RESOLVER_IP, HOST, FOTA_IP)


def _flow(payload: bytes, port: int, *, mss: int = 1400) -> list[Packet]:
    session = TcpSession(PHONE_IP, port, FOTA_IP, 80, mss=mss).handshake()
    session.send(payload)
    return session.close().packets


def bombs_in_one_segment(count: int = 12) -> list[Packet]:
    """``count`` brotli bombs, pipelined requests in one TCP segment (about 3 KB for 12)."""
    payload = coded_request(brotli_bomb()) * count
    return _lookup() + _flow(payload, 41000, mss=len(payload))


def bombs_in_flows(count: int = 40, flows: int = 8) -> list[Packet]:
    """``count`` brotli bombs shared out over ``flows`` connections (about 10 KB of
    payload for 40): enough to spend several flows' budgets and the capture's."""
    packets = _lookup()
    bomb = coded_request(brotli_bomb())
    for flow in range(flows):
        share = count // flows + (flow < count % flows)
        packets += _flow(bomb * share, 41100 + flow, mss=len(bomb) * share or 1)
    return packets


def bombs_inside_a_body(count: int = 12) -> list[Packet]:
    """One request whose body holds ``count`` bomb requests (read by the parser of its
    body, which looks for messages inside a request's body)."""
    inner = coded_request(brotli_bomb()) * count
    outer = (
        f"POST /batch HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(inner)}\r\n\r\n"
    ).encode("ascii") + inner
    return _lookup() + _flow(outer, 41600, mss=len(outer))


def leak_around_a_bomb(zeros: int, *, leak_first: bool, coding: str = "br") -> list[Packet]:
    """One request whose decoded body is the leaky JSON and ``zeros`` zero bytes, the
    leak before them or after them."""
    leak = leaky_post_body()
    make = brotli_bomb if coding == "br" else gzip_bomb
    body = make(zeros, before=leak) if leak_first else make(zeros, after=leak)
    return _lookup() + _flow(coded_request(body, coding), 41200)


def leak_under_codings(layers: int) -> list[Packet]:
    """The leaky JSON gzip'd ``layers`` times over (``Content-Encoding: gzip, gzip, ...``)."""
    body = leaky_post_body()
    for _ in range(layers):
        body = gzip.compress(body)
    return _lookup() + _flow(coded_request(body, ", ".join(["gzip"] * layers)), 41300)


def write(path: Path, packets: list[Packet]) -> Path:
    return write_pcap(path, packets)


# --- gzip'd captures -------------------------------------------------------------------

FRAME = bytes(12) + b"\x88\xb5" + bytes(46)  # Ethernet, a local experimental EtherType


def expanding_gz(path: Path, expanded: int = 512 * MIB, *, first: Path | None = None) -> Path:
    """A ``.gz`` pcap that expands to ``expanded`` bytes: the records of the capture
    ``first`` (a little-endian Ethernet pcap, as scapy writes them), if any, then the
    same small non-IP frame over and over. gzip makes about 3.5 KB of every MiB of it
    (76-byte records: as many records as it can cost)."""
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    record = struct.pack("<IIII", int(START), 0, len(FRAME), len(FRAME)) + FRAME
    block = record * (MIB // len(record))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        out.write(compressor.compress(header))
        if first is not None:
            out.write(compressor.compress(first.read_bytes()[len(header) :]))
        for _ in range(expanded // len(block)):
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    return path
