"""WebSocket connections built byte by byte (RFC 6455 frames, RFC 7692 compression), and
captures of them: a phone's HTTP/1.1 upgrade, the server's 101, then frames both ways."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from scapy.packet import Packet

from tests.support.pcaps import CN_IP, PHONE_IP, RESOLVER_IP, TcpSession, dns_lookup

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3's
ACCEPT = b"s3pPLMBiTxaQ9kK69RzzHxuVYy4="
TAIL = b"\x00\x00\xff\xff"


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    mask: bytes | None = None,
    rsv1: bool = False,
    rsv: int = 0,
) -> bytes:
    """One frame (RFC 6455 section 5.2); ``mask``: the client's 4-byte key."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | rsv | opcode
    size = len(payload)
    masked = 0x80 if mask is not None else 0
    if size < 126:
        head = bytes([first, masked | size])
    elif size < 1 << 16:
        head = bytes([first, masked | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([first, masked | 127]) + size.to_bytes(8, "big")
    if mask is None:
        return head + payload
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def fragments(
    opcode: int,
    payload: bytes,
    cuts: Sequence[int],
    *,
    mask: bytes | None = None,
    rsv1: bool = False,
    between: bytes = b"",
) -> bytes:
    """A message in frames cut at ``cuts`` (offsets in ``payload``); ``between``: bytes (a
    control frame) put after the first fragment."""
    edges = [0, *cuts, len(payload)]
    out = b""
    for index in range(len(edges) - 1):
        last = index == len(edges) - 2
        first = index == 0
        out += frame(
            opcode if first else CONTINUATION,
            payload[edges[index] : edges[index + 1]],
            fin=last,
            mask=mask,
            rsv1=rsv1 and first,
        )
        if first and between:
            out += between
    return out


@dataclass
class Compressor:
    """One sender's permessage-deflate: its window kept across messages, or not."""

    takeover: bool = True
    bits: int = 15
    state: zlib._Compress | None = field(default=None, repr=False)

    def message(self, text: bytes) -> bytes:
        """A message's payload: deflated, sync-flushed, its tail removed (RFC 7692 7.2.1)."""
        if self.state is None or not self.takeover:
            self.state = zlib.compressobj(9, zlib.DEFLATED, -self.bits)
        data = self.state.compress(text) + self.state.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(TAIL)
        return data[: -len(TAIL)]


def upgrade_request(host: str = "zfhmd.vnet.cn", extensions: str | None = None) -> bytes:
    lines = [
        "GET /chat HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {KEY.decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if extensions is not None:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def switching(extensions: str | None = None) -> bytes:
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {ACCEPT.decode()}",
    ]
    if extensions is not None:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connection(
    client_frames: Sequence[bytes],
    server_frames: Sequence[bytes] = (),
    *,
    extensions: str | None = None,
    port: int = 41001,
    server: str = CN_IP,
    host: str = "zfhmd.vnet.cn",
    mss: int = 1400,
) -> list[Packet]:
    """The DNS lookup, the upgrade, then the client's frames and the server's, each as one
    send (so a frame may span segments, and segments hold several frames)."""
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, host, server)
    session = TcpSession(PHONE_IP, port, server, 80, mss=mss).handshake()
    session.send(upgrade_request(host, extensions))
    session.send(switching(extensions), from_client=False)
    for data in client_frames:
        session.send(data)
    for data in server_frames:
        session.send(data, from_client=False)
    return packets + session.close().packets
