"""The reply Parcel of a virtual phone's `service call`, printed as Android's `service` tool does.

`service call` prints "Result: " and the reply Parcel as libbinder's HexDump
prints it: 16 bytes a line as little-endian words, then the printable bytes.
"""

from __future__ import annotations

import struct


def string16(value: str | None) -> bytes:
    """Parcel.writeString16: the length in UTF-16 units, the units, a NUL, padded to 4 bytes."""
    if value is None:
        return struct.pack("<i", -1)
    units = value.encode("utf-16-le")
    data = struct.pack("<i", len(units) // 2) + units + b"\0\0"
    return data + b"\0" * (-len(data) % 4)


def string_reply(value: str | None) -> bytes:
    """The reply Parcel of a method that returns a String: no exception, then the String16."""
    return struct.pack("<i", 0) + string16(value)


def exception_reply(code: int, message: str) -> bytes:
    """Parcel.writeException: the code, the message, then an empty stack-trace header."""
    return struct.pack("<i", code) + string16(message) + struct.pack("<i", 0)


def dump(parcel: bytes) -> str:
    """`service call`'s output: "Result: " and the Parcel as libbinder's HexDump prints it."""
    return f"Result: Parcel({hexdump(parcel)})\n"


def hexdump(data: bytes) -> str:
    """16 bytes a line as little-endian words, then the printable bytes; one line up to 16 bytes."""
    if not data:
        return "NULL"
    if len(data) <= 16:
        words = _words(data)
        return " ".join(words) + " " * (4 - len(words)) + f" '{_printable(data)}'"
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        words = _words(chunk) + [" " * 8] * (4 - (len(chunk) + 3) // 4)
        lines.append(f"  0x{offset:08x}: {' '.join(words)} '{_printable(chunk).ljust(16)}'")
    return "\n" + "\n".join(lines)


def _words(data: bytes) -> list[str]:
    return [f"{int.from_bytes(data[i : i + 4], 'little'):08x}" for i in range(0, len(data), 4)]


def _printable(data: bytes) -> str:
    return "".join(chr(byte) if 32 <= byte < 127 else "." for byte in data)
