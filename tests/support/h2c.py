"""Craft HTTP/2 cleartext (h2c) conversations: frames by hand (RFC 9113 section 4.1),
header blocks with python-hyper's ``hpack`` Encoder, carried in TCP captures."""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass, field

from hpack import Encoder
from scapy.packet import Packet

from tests.support.pcaps import FOTA_IP, PHONE_IP, RESOLVER_IP, TcpSession, dns_lookup

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HOST = "fota.vendor.example"  # allowed by the tests' policy: only a leak judges
PORT = 8080  # tshark: -d tcp.port==8080,http2

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
END_STREAM, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x4, 0x8, 0x20


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return (
        len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload
    )


def settings(*pairs: tuple[int, int], ack: bool = False) -> bytes:
    payload = b"".join(k.to_bytes(2, "big") + v.to_bytes(4, "big") for k, v in pairs)
    return frame(SETTINGS, 1 if ack else 0, 0, payload)


def data(stream: int, payload: bytes, *, end: bool = False, padding: int = 0) -> bytes:
    flags = END_STREAM if end else 0
    if padding:
        return frame(DATA, flags | PADDED, stream, bytes([padding]) + payload + bytes(padding))
    return frame(DATA, flags, stream, payload)


@dataclass
class Side:
    """One direction's HPACK encoder: its dynamic table lives as long as the side."""

    huffman: bool = True
    encoder: Encoder = field(default_factory=Encoder)

    def block(self, fields: list[tuple[str, str]]) -> bytes:
        return bytes(self.encoder.encode(fields, huffman=self.huffman))

    def headers(
        self,
        stream: int,
        fields: list[tuple[str, str]],
        *,
        end: bool = False,
        padding: int = 0,
        priority: bool = False,
        split: int | None = None,
    ) -> bytes:
        """A HEADERS frame (and CONTINUATION frames, if ``split`` cuts its block)."""
        block = self.block(fields)
        first, rest = (block, b"") if split is None else (block[:split], block[split:])
        flags = (END_STREAM if end else 0) | (0 if rest else END_HEADERS)
        payload = first
        if priority:
            flags |= PRIORITY_FLAG
            payload = (0).to_bytes(4, "big") + bytes([15]) + payload
        if padding:
            flags |= PADDED
            payload = bytes([padding]) + payload + bytes(padding)
        out = frame(HEADERS, flags, stream, payload)
        if rest:
            out += frame(CONTINUATION, END_HEADERS, stream, rest)
        return out


def request_fields(path: str = "/v1/check", method: str = "POST") -> list[tuple[str, str]]:
    return [
        (":method", method),
        (":scheme", "http"),
        (":authority", f"{HOST}:{PORT}"),
        (":path", path),
        ("user-agent", "okhttp/4.12.0"),
    ]


@dataclass
class H2c:
    """An h2c connection in a capture: the client's and server's bytes, sent in order."""

    session: TcpSession
    client: Side = field(default_factory=Side)
    server: Side = field(default_factory=Side)

    @classmethod
    def prior_knowledge(cls, cport: int = 42000, *, mss: int = 1400) -> H2c:
        tcp = TcpSession(PHONE_IP, cport, FOTA_IP, PORT, mss=mss).handshake()
        h2 = cls(tcp)
        h2.send(PREFACE + settings((1, 4096), (4, 65535)))
        h2.reply(settings((3, 100)) + settings(ack=True))
        h2.send(settings(ack=True))
        return h2

    @classmethod
    def upgraded(
        cls, cport: int = 42100, *, leak: str = "", sport: int = PORT, together: bool = True
    ) -> H2c:
        """An HTTP/1.1 GET with ``Upgrade: h2c``, its 101, then HTTP/2 both ways; the
        server answers the upgraded request on stream 1, in the 101's segment when
        ``together``, else in the next."""
        tcp = TcpSession(PHONE_IP, cport, FOTA_IP, sport).handshake()
        h2 = cls(tcp)
        options = base64.urlsafe_b64encode(settings((1, 4096))[9:]).rstrip(b"=").decode()
        request = (
            f"GET /v1/ping HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nConnection: Upgrade, HTTP2-Settings"
            f"\r\nUpgrade: h2c\r\nHTTP2-Settings: {options}\r\n\r\n"
        )
        h2.send(request.encode())
        switch = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
        reply = [(":status", "200"), ("content-type", "application/json")]
        if leak:
            reply.append(("x-device", leak))
        body = b'{"ok":true}'
        frames = settings((3, 100)) + h2.server.headers(1, reply) + data(1, body, end=True)
        if together:
            h2.reply(switch + frames)
        else:
            h2.reply(switch)
            h2.reply(frames)
        h2.send(PREFACE + settings() + settings(ack=True))
        return h2

    def send(self, payload: bytes) -> None:
        self.session.send(payload)

    def reply(self, payload: bytes) -> None:
        self.session.send(payload, from_client=False)

    def exchange(
        self,
        stream: int,
        fields: list[tuple[str, str]],
        body: bytes = b"",
        *,
        answer: bytes = b'{"ok":true}',
    ) -> None:
        """A request (with ``body`` in one DATA frame, if any) and its 200."""
        self.send(self.client.headers(stream, fields, end=not body))
        if body:
            self.send(data(stream, body, end=True))
        reply = self.server.headers(
            stream, [(":status", "200"), ("content-length", str(len(answer)))]
        )
        self.reply(reply + data(stream, answer, end=True))

    def packets(self) -> list[Packet]:
        self.send(frame(GOAWAY, 0, 0, bytes(8)))
        return dns_lookup(PHONE_IP, RESOLVER_IP, HOST, FOTA_IP) + self.session.close().packets


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)


# What curl 7.88.1 (libnghttp2 1.52.0) sent, segment by segment, for
#   curl --http2-prior-knowledge -H "X-Imei: 352098100123452" -H "Accept-Encoding: gzip"
#        --data '{"sn":"SIM7P0001"}' http://fota.vendor.example:18080/v1/check
# captured on loopback (tcp.payload of each client segment): a real encoder's HPACK,
# its SETTINGS, WINDOW_UPDATE and Huffman-coded values.
CURL_PRIOR_KNOWLEDGE = tuple(
    bytes.fromhex(segment)
    for segment in (
        "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00001204000000000000030000006400"
        "040200000000020000000000000408000000000001ff0001",
        "00006501040000000183048763b85824e5275f86419294e91afdcb5487b172f91d35d05b81780f03"
        "7a8825b650c3abbcf2e153032a2f2a4085f2b1a929bf8b65b101f78200044cb4d8bf50839bd9ab0f"
        "0d0231385f981d75d0620d263d4c795bc78f0b4a7b295adb282d443c8593",
        "0000120001000000017b22736e223a2253494d375030303031227d",
    )
)
CURL_PORT = 18080
