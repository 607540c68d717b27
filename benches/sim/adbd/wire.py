"""The ADB wire protocol's message format (the transport between adb server and adbd).

Reference: AOSP ``packages/modules/adb/protocol.txt``. Every message is a 24-byte
header of six little-endian uint32 words, then ``data_length`` bytes of payload:

    command, arg0, arg1, data_length, data_check, magic (= command ^ 0xffffffff)

``data_check`` is the unsigned byte sum of the payload (protocol.txt calls it a
"crc32", but adb has always summed bytes). Since protocol version 0x01000001 the
receiver skips the check; we still fill it in, because a peer only learns our
version from our CNXN, which it may therefore verify.

The shell v2 sub-protocol (``shell,v2:`` services, feature ``shell_v2``) frames
the stream's bytes as ``id:uint8, length:uint32 LE, data``; see
``packages/modules/adb/shell_protocol.h``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453

COMMAND_NAMES = {
    A_SYNC: "SYNC",
    A_CNXN: "CNXN",
    A_AUTH: "AUTH",
    A_OPEN: "OPEN",
    A_OKAY: "OKAY",
    A_CLSE: "CLSE",
    A_WRTE: "WRTE",
    A_STLS: "STLS",
}

A_VERSION_MIN = 0x01000000
# 0x01000001 = "skip checksum" version; what every adb since Android 9 speaks.
A_VERSION = 0x01000001
# The largest payload any current adb sends or accepts (adb.h MAX_PAYLOAD).
MAX_PAYLOAD = 1024 * 1024

HEADER_SIZE = 24
_HEADER = struct.Struct("<6I")

# shell v2 packet ids (shell_protocol.h)
SHELL_STDOUT = 1
SHELL_STDERR = 2
SHELL_EXIT = 3
SHELL_HEADER_SIZE = 5
_SHELL_HEADER = struct.Struct("<BI")


class AdbProtocolError(ValueError):
    """A message that violates the ADB wire protocol (bad magic, size, command...)."""


@dataclass(frozen=True)
class AdbMessage:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command, f"0x{self.command:08x}")

    def __repr__(self) -> str:
        shown = self.data[:32] + (b"..." if len(self.data) > 32 else b"")
        return f"AdbMessage({self.name}, {self.arg0}, {self.arg1}, {shown!r})"


class Header(NamedTuple):
    command: int
    arg0: int
    arg1: int
    data_length: int
    data_check: int


def checksum(data: bytes) -> int:
    return sum(data) & 0xFFFFFFFF


def encode(message: AdbMessage) -> bytes:
    for value in (message.command, message.arg0, message.arg1):
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"{message!r}: header word out of uint32 range")
    header = _HEADER.pack(
        message.command,
        message.arg0,
        message.arg1,
        len(message.data),
        checksum(message.data),
        message.command ^ 0xFFFFFFFF,
    )
    return header + message.data


def parse_header(header: bytes, max_payload: int = MAX_PAYLOAD) -> Header:
    """Validate a 24-byte header; raise AdbProtocolError if it is not a valid one."""
    if len(header) != HEADER_SIZE:
        raise AdbProtocolError(f"header is {len(header)} bytes, expected {HEADER_SIZE}")
    command, arg0, arg1, length, check, magic = _HEADER.unpack(header)
    if magic != command ^ 0xFFFFFFFF:
        raise AdbProtocolError(f"bad magic 0x{magic:08x} for command 0x{command:08x}")
    if command not in COMMAND_NAMES:
        raise AdbProtocolError(f"unknown command 0x{command:08x}")
    if length > max_payload:
        raise AdbProtocolError(
            f"{COMMAND_NAMES[command]} payload of {length} bytes exceeds maximum {max_payload}"
        )
    return Header(command, arg0, arg1, length, check)


def encode_banner(state: str, props: Mapping[str, str], features: Iterable[str]) -> bytes:
    """A CNXN banner, e.g. ``device::ro.product.name=x;ro.product.model=y;features=a,b``.

    The adb server splits it on ``:`` then ``;`` then ``=``, so those characters
    cannot appear inside keys or values.
    """
    fields = [*(f"{k}={v}" for k, v in props.items()), "features=" + ",".join(features)]
    for key, value in props.items():
        if not key or any(c in key for c in ":;="):
            raise ValueError(f"banner property name {key!r} is empty or contains ':', ';', '='")
        if any(c in value for c in ":;"):
            raise ValueError(f"banner property {key}={value!r} contains ':' or ';'")
    return f"{state}::{';'.join(fields)}".encode()


def encode_shell_packet(packet_id: int, data: bytes) -> bytes:
    return _SHELL_HEADER.pack(packet_id, len(data)) + data
