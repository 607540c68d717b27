"""A MaxMind DB (.mmdb) file written here, byte by byte, as the format's spec says."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# https://maxmind.github.io/MaxMind-DB/


class U16(int):
    pass


class U32(int):
    pass


class U64(int):
    pass


METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
BUILD_EPOCH = 1714521600  # 2024-05-01T00:00:00Z


def write_mmdb(path: Path, database_type: str, networks: Iterable[tuple[str, Any]]) -> Path:
    """An IPv6 tree with 24-bit records; IPv4 networks live under ::/96, as readers expect."""
    data = bytearray()
    nodes: list[list[tuple[str, int] | None]] = [[None, None]]
    for text, record in networks:
        network = ipaddress.ip_network(text)
        offset = len(data)
        data += _encode(record)
        bits, length = int(network.network_address), network.prefixlen
        if network.version == 4:
            length += 96
        node = 0
        for depth in range(length):
            bit = (bits >> (127 - depth)) & 1
            if depth == length - 1:
                nodes[node][bit] = ("data", offset)
                break
            child = nodes[node][bit]
            if child is None or child[0] != "node":
                nodes.append([None, None])
                child = ("node", len(nodes) - 1)
                nodes[node][bit] = child
            node = child[1]
    count = len(nodes)

    def record(value: tuple[str, int] | None) -> bytes:
        if value is None:
            number = count
        elif value[0] == "node":
            number = value[1]
        else:
            number = count + 16 + value[1]
        return number.to_bytes(3, "big")

    tree = b"".join(record(left) + record(right) for left, right in nodes)
    metadata = {
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(BUILD_EPOCH),
        "database_type": database_type,
        "description": {"en": f"{database_type} for tests"},
        "ip_version": U16(6),
        "languages": ["en"],
        "node_count": U32(count),
        "record_size": U16(24),
    }
    path.write_bytes(tree + bytes(16) + bytes(data) + METADATA_MARKER + _encode(metadata))
    return path


def _encode(value: Any) -> bytes:
    if isinstance(value, dict):
        body = b"".join(_encode(str(k)) + _encode(v) for k, v in value.items())
        return _control(7, len(value)) + body
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(_encode(v) for v in value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(2, len(raw)) + raw
    if isinstance(value, int):
        kind = 5 if isinstance(value, U16) else 9 if isinstance(value, U64) else 6
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return _control(kind, len(raw)) + raw
    raise TypeError(type(value))


def _control(kind: int, size: int) -> bytes:
    if size < 29:
        marker, extra = size, b""
    elif size < 29 + 256:
        marker, extra = 29, bytes([size - 29])
    elif size < 285 + 65536:
        marker, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        marker, extra = 31, (size - 65821).to_bytes(3, "big")
    if kind <= 7:
        return bytes([(kind << 5) | marker]) + extra
    return bytes([marker, kind - 7]) + extra  # extended type: its number minus 7 follows
