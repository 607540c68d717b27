"""One host's fastboot session on the virtual bootloader: the commands after the handshake.

Every packet is an 8-byte big-endian length and the payload (fastboot's TCP
protocol v1). A command is ASCII and at most 4096 bytes; a host that sends more,
or non-ASCII, or a data packet larger than what is left of its download, broke
the framing: ``ProtocolError``, and the server drops the connection.

The session acts on a `FlashTarget` (the server is the one); the Protocol lives
here, so the session never imports the server that imports it.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Mapping
from typing import Protocol

log = logging.getLogger(__name__)

MAX_COMMAND = 4096  # the biggest command packet a host may send (fastboot's FB_COMMAND_SZ)
SPARSE_MAGIC = b"\x3a\xff\x26\xed"
# The reboot commands and what on_reboot is told: where the phone goes next.
REBOOTS = {
    "reboot": "",
    "continue": "",
    "reboot-bootloader": "bootloader",
    "reboot-recovery": "recovery",
}


class ProtocolError(Exception):
    """The host broke the framing; the connection is dropped."""


class HostGone(Exception):
    """The host closed the connection."""


class FlashTarget(Protocol):
    """What a session reads and acts on: the bootloader's variables, partitions and limit,
    the log of what it was asked, and the phone's side of a flash or a reboot."""

    @property
    def serial(self) -> str: ...

    @property
    def variables(self) -> Mapping[str, str]: ...

    @property
    def partitions(self) -> tuple[str, ...]: ...

    @property
    def max_download_size(self) -> int: ...

    @property
    def commands(self) -> list[str]:
        """Every command received, in order; the session appends to it."""
        ...

    @property
    def erased(self) -> list[str]:
        """The partitions erased, in order; the session appends to it."""
        ...

    def write(self, partition: str, data: bytes) -> None:
        """Flash `data` to `partition`; an exception makes the flash FAIL."""
        ...

    def on_reboot(self, target: str) -> None:
        """After the answer to a reboot: "", "bootloader" or "recovery"."""
        ...


class FastbootSession:
    """One host's commands, one packet in and one or more packets out at a time."""

    def __init__(self, server: FlashTarget, conn: socket.socket) -> None:
        self.server = server
        self.conn = conn
        self.download: bytes | None = None

    def send(self, packet: bytes) -> None:
        self.conn.sendall(struct.pack(">Q", len(packet)) + packet)

    def read_packet(self, limit: int) -> bytes:
        (size,) = struct.unpack(">Q", recv_exact(self.conn, 8))
        if size > limit:
            raise ProtocolError(f"packet of {size} bytes, at most {limit} expected")
        return recv_exact(self.conn, size)

    def serve_one(self) -> bool:
        """Answer one command; False once the connection must close."""
        packet = self.read_packet(MAX_COMMAND)
        try:
            command = packet.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ProtocolError("a command that is not ASCII") from exc
        self.server.commands.append(command)
        name, _, arg = command.partition(":")
        if name == "getvar":
            self.getvar(arg)
        elif name == "download":
            self.receive_download(arg)
        elif name in ("flash", "erase"):
            self.write_partition(name, arg)
        elif command in REBOOTS:
            self.send(b"OKAY")
            self.server.on_reboot(REBOOTS[command])
            return False
        else:
            self.send(b"FAILunknown command")
        return True

    def getvar(self, name: str) -> None:
        variables = self.server.variables
        if name == "all":
            for key, value in variables.items():
                self.send(f"INFO{key}:{value}".encode()[:256])
            self.send(b"OKAY")
        elif name in variables:
            self.send(b"OKAY" + variables[name].encode()[:252])
        elif name.startswith("has-slot:") and name[9:] in self.server.partitions:
            self.send(b"OKAYno")  # a phone without A/B slots
        else:
            self.send(b"FAILunknown variable")

    def receive_download(self, arg: str) -> None:
        self.download = None
        if len(arg) != 8 or any(c not in "0123456789abcdefABCDEF" for c in arg):
            self.send(b"FAILbad download size")
            return
        size = int(arg, 16)
        if size == 0 or size > self.server.max_download_size:
            self.send(f"FAILdownload size {size} exceeds max-download-size".encode())
            return
        self.send(f"DATA{size:08x}".encode())
        chunks: list[bytes] = []
        left = size
        while left:
            chunk = self.read_packet(left)
            chunks.append(chunk)
            left -= len(chunk)
        self.download = b"".join(chunks)
        self.send(b"OKAY")

    def write_partition(self, verb: str, partition: str) -> None:
        server = self.server
        if partition not in server.partitions:
            self.send(f"FAILpartition '{partition}' does not exist".encode()[:256])
            return
        if verb == "erase":
            server.erased.append(partition)
            self.send(b"OKAY")
            return
        data, self.download = self.download, None
        if data is None:
            self.send(b"FAILno image downloaded")
            return
        if data.startswith(SPARSE_MAGIC):
            self.send(b"FAILsparse images are not supported")
            return
        try:
            server.write(partition, data)
        except Exception as exc:
            log.warning("fastboot %s: flash %s failed: %s", server.serial, partition, exc)
            self.send(f"FAILflash failed: {exc}".encode()[:256])
            return
        self.send(b"OKAY")


def recv_exact(conn: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes; HostGone when the host closes first."""
    buf = bytearray()
    while len(buf) < size:
        chunk = conn.recv(min(size - len(buf), 1 << 20))
        if not chunk:
            raise HostGone("host closed the connection")
        buf += chunk
    return bytes(buf)
