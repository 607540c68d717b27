"""Capture files byte by byte (struct): every pcap and pcapng variant the reader must take.

scapy writes one flavour of each format; these write the others: either byte
order, micro- or nanosecond timestamps, any link type, pcapng with several
interfaces, Simple Packet Blocks and blocks the reader must skip. Link-layer
headers for the link types are here too. Files only: nothing is sent.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

# A frame as (seconds since the epoch, frame bytes) or with its length on the wire.
Record = tuple[float, bytes] | tuple[float, bytes, int]

ETHERNET, RAW, SLL, LOOP, RAW4, RAW6, SLL2, NULL = 1, 101, 113, 108, 228, 229, 276, 0


def pcap(
    path: Path,
    records: Sequence[Record],
    *,
    linktype: int = ETHERNET,
    endian: str = "<",
    nano: bool = False,
) -> Path:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    parts = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    for record in records:
        when, data = record[0], record[1]
        wire = record[2] if len(record) == 3 else len(data)
        seconds = int(when)
        fraction = round((when - seconds) * (1e9 if nano else 1e6))
        parts.append(struct.pack(endian + "IIII", seconds, fraction, len(data), wire) + data)
    path.write_bytes(b"".join(parts))
    return path


def _block(kind: int, body: bytes, endian: str) -> bytes:
    padded = body + bytes(-len(body) % 4)
    length = 12 + len(padded)
    return struct.pack(endian + "II", kind, length) + padded + struct.pack(endian + "I", length)


def _option(code: int, value: bytes, endian: str) -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def section(endian: str = "<") -> bytes:
    body = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    return _block(0x0A0D0D0A, body, endian)


def interface(linktype: int, *, tsresol: int | None = None, endian: str = "<") -> bytes:
    body = struct.pack(endian + "HHI", linktype, 0, 0)
    if tsresol is not None:
        body += _option(9, bytes([tsresol]), endian) + _option(0, b"", endian)
    return _block(1, body, endian)


def enhanced(
    interface_id: int, when: float, data: bytes, *, units: int = 10**6, endian: str = "<"
) -> bytes:
    ticks = round(when * units)
    body = struct.pack(endian + "IIIII", interface_id, ticks >> 32, ticks & 0xFFFFFFFF,
                       len(data), len(data)) + data  # fmt: skip
    return _block(6, body, endian)


def simple(data: bytes, *, endian: str = "<") -> bytes:
    return _block(3, struct.pack(endian + "I", len(data)) + data, endian)


def other_block(kind: int = 0x0BAD, *, endian: str = "<") -> bytes:
    return _block(kind, b"skip me", endian)


def pcapng(path: Path, blocks: Sequence[bytes]) -> Path:
    path.write_bytes(b"".join(blocks))
    return path


# --- link-layer headers -------------------------------------------------------------


def ethernet(ip: bytes, *, vlans: Sequence[int] = (), outer: int = 0x8100) -> bytes:
    version = ip[0] >> 4
    header = bytes.fromhex("020000000001020000000002")
    for index, vlan in enumerate(vlans):
        header += struct.pack("!HH", outer if index == 0 else 0x8100, vlan)
    return header + struct.pack("!H", 0x0800 if version == 4 else 0x86DD) + ip


def sll(ip: bytes) -> bytes:
    protocol = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return struct.pack("!HHH8sH", 0, 772, 6, bytes(8), protocol) + ip


def sll2(ip: bytes) -> bytes:
    protocol = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return struct.pack("!HHIHBB8s", protocol, 0, 1, 772, 0, 6, bytes(8)) + ip


def null(ip: bytes, *, endian: str = "<", family6: int = 30) -> bytes:
    family = 2 if ip[0] >> 4 == 4 else family6
    return struct.pack(endian + "I", family) + ip
