"""pcapng blocks, read in chunks: sections, interfaces and the packets on them.

Only the blocks that carry packets or say how to read them are parsed: the
Section Header (byte order), Interface Description (link type, timestamp
resolution and offset, snap length), Enhanced, Simple and (obsolete) Packet
blocks. Every other block is skipped by its length. A Simple Packet Block has
no timestamp; it gets the time of the packet before it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from benches.analysis.pcap.record import ReadStats, Record

SHB = b"\x0a\x0d\x0d\x0a"
SHB_TYPE = 0x0A0D0D0A
BYTE_ORDER_MAGIC = 0x1A2B3C4D
IDB, OPB, SPB, EPB = 1, 2, 3, 6
PACKET_BLOCKS = frozenset({OPB, SPB, EPB})
OPT_TSRESOL, OPT_TSOFFSET = 9, 14
CHUNK = 1 << 18
READ_ERRORS = (OSError, EOFError, zlib.error)  # gzip.BadGzipFile is an OSError
MAX_BLOCK = 1 << 24  # a longer block is a corrupt length


@dataclass(frozen=True, slots=True)
class Interface:
    linktype: int
    divisor: int  # timestamp units per second
    offset: float  # seconds added to every timestamp (if_tsoffset)
    snaplen: int


def read_section_header(magic: bytes, read: Callable[[int], bytes]) -> bytes:
    """The whole first Section Header Block (``magic`` already read); ValueError if bad."""
    rest = read(8)
    if len(rest) < 8:
        raise ValueError("section header cut short")
    endian = _byte_order(rest[4:8])
    (length,) = struct.unpack_from(endian + "I", rest)
    if length < 28 or length % 4 or length > MAX_BLOCK:
        raise ValueError(f"bad section header length {length}")
    body = read(length - 12)
    if len(body) < length - 12:
        raise ValueError("section header cut short")
    return magic + rest + body


def records(source: BinaryIO, head: bytes, stats: ReadStats) -> Iterator[Record]:
    # read1: a gzip stream cut short loses only its last piece, not a whole chunk.
    read = getattr(source, "read1", source.read)
    buf, pos, size = head, 0, len(head)
    endian = "<"
    block = struct.Struct("<II").unpack_from
    epb = struct.Struct("<IIIII").unpack_from
    interfaces: list[Interface] = []
    frame = 0
    time = 0.0
    try:
        while True:
            if size - pos < 12:
                more = read(CHUNK)
                if not more:
                    if size > pos:  # a block header cut short
                        frame += 1
                        stats.unreadable += 1
                    break
                buf, pos = buf[pos:] + more, 0
                size = len(buf)
                continue
            kind, length = block(buf, pos)
            if kind == SHB_TYPE:
                try:
                    endian = _byte_order(buf[pos + 8 : pos + 12])
                except ValueError:
                    frame += 1
                    stats.unreadable += 1
                    break
                block = struct.Struct(endian + "II").unpack_from
                epb = struct.Struct(endian + "IIIII").unpack_from
                kind, length = block(buf, pos)
                interfaces = []
            if length < 12 or length % 4 or length > MAX_BLOCK:  # corrupt: cannot go on
                frame += 1
                stats.unreadable += 1
                break
            end = pos + length
            if end > size:
                more = read(max(CHUNK, end - size))
                if not more:  # the file ends inside this block
                    if kind in PACKET_BLOCKS or kind not in (SHB_TYPE, IDB):
                        frame += 1
                        stats.unreadable += 1
                    break
                buf, pos = buf[pos:] + more, 0
                size = len(buf)
                continue
            if kind in (EPB, OPB):
                frame += 1
                if length < 32:
                    stats.unreadable += 1
                    pos = end
                    continue
                index, high, low, caplen, wirelen = epb(buf, pos + 8)
                if kind == OPB:  # a 16-bit interface id, then a drop count
                    index = struct.unpack_from(endian + "H", buf, pos + 8)[0]
                data = pos + 28
                if index >= len(interfaces) or data + caplen > end - 4:
                    stats.unreadable += 1
                else:
                    interface = interfaces[index]
                    time = ((high << 32) | low) / interface.divisor + interface.offset
                    if wirelen > caplen:
                        stats.truncated += 1
                    yield frame, time, interface.linktype, buf, data, data + caplen
            elif kind == SPB:
                frame += 1
                if not interfaces or length < 16:
                    stats.unreadable += 1
                else:
                    interface = interfaces[0]
                    wirelen = block(buf, pos + 4)[1]
                    caplen = min(wirelen, length - 16, interface.snaplen or wirelen)
                    if wirelen > caplen:
                        stats.truncated += 1
                    yield frame, time, interface.linktype, buf, pos + 12, pos + 12 + caplen
            elif kind == IDB:
                interfaces.append(_interface(buf, pos, end, endian))
            pos = end
    except READ_ERRORS:  # the file broke mid-read (a gzip stream cut short, EIO)
        frame += 1
        stats.unreadable += 1
    finally:
        stats.records = frame
        source.close()


def _byte_order(magic: bytes) -> str:
    if len(magic) == 4:
        if struct.unpack("<I", magic)[0] == BYTE_ORDER_MAGIC:
            return "<"
        if struct.unpack(">I", magic)[0] == BYTE_ORDER_MAGIC:
            return ">"
    raise ValueError(f"bad byte-order magic {magic.hex()}")


def _interface(buf: bytes, pos: int, end: int, endian: str) -> Interface:
    if end - pos < 20:
        return Interface(-1, 1_000_000, 0.0, 0)  # no link type: its packets are unreadable
    linktype, snaplen = struct.unpack_from(endian + "H2xI", buf, pos + 8)
    divisor, offset = 1_000_000, 0.0
    option = pos + 16
    while option + 4 <= end - 4:
        code, size = struct.unpack_from(endian + "HH", buf, option)
        value = buf[option + 4 : min(option + 4 + size, end - 4)]
        if code == 0:
            break
        if code == OPT_TSRESOL and size >= 1:
            exponent = value[0] & 0x7F
            divisor = 2**exponent if value[0] & 0x80 else 10**exponent
        elif code == OPT_TSOFFSET and size >= 8:
            offset = float(struct.unpack_from(endian + "q", value)[0])
        option += 4 + (size + 3) // 4 * 4
    return Interface(linktype, divisor or 1, offset, snaplen)
