"""Protobuf messages and gRPC frames for tests, written by hand from the wire format
(protobuf.dev/programming-guides/encoding): no schema, no protobuf library."""

from __future__ import annotations

import gzip
import random
import struct


def varint(value: int) -> bytes:
    """Base-128, least significant group first (written apart from the bench's own)."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def field_varint(number: int, value: int) -> bytes:
    """A varint field: int32/int64 values below zero as their 64-bit two's complement."""
    return varint(number << 3) + varint(value % (1 << 64))


def field_sint(number: int, value: int) -> bytes:
    """A sint64 field: zig-zag."""
    return field_varint(number, 2 * value if value >= 0 else -2 * value - 1)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def field_double(number: int, value: float) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<d", value)


def field_float(number: int, value: float) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<f", value)


def field_sfixed32(number: int, value: int) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<i", value)


def grpc_frame(message: bytes, *, compressed: bool = False) -> bytes:
    """One gRPC length-prefixed message; ``compressed``: gzip, flag set."""
    payload = gzip.compress(message, mtime=0) if compressed else message
    return bytes([1 if compressed else 0]) + len(payload).to_bytes(4, "big") + payload


def random_message(rng: random.Random, fields: int = 40, depth: int = 2) -> bytes:
    """A valid message of random fields (varints, fixed, strings, nested): a trap."""
    out = bytearray()
    for _ in range(fields):
        number = rng.randrange(1, 40)
        kind = rng.randrange(5)
        if kind == 0:
            out += field_varint(number, rng.getrandbits(rng.choice((7, 32, 64))))
        elif kind == 1:
            out += varint(number << 3 | 1) + rng.randbytes(8)
        elif kind == 2:
            out += varint(number << 3 | 5) + rng.randbytes(4)
        elif kind == 3:
            out += field_bytes(number, rng.randbytes(rng.randrange(0, 40)))
        elif depth > 0:
            out += field_bytes(number, random_message(rng, fields // 4, depth - 1))
    return bytes(out)
