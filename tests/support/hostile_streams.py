"""Hostile capture FILES of any size, for time fuzzing: nothing here sends a packet.

Each shape is what an attacker (or an unlucky lab) can put in a few MB to make
an analyzer do work that grows faster than the file: a quadratic path turns a
2 MB capture into a minute. :data:`SHAPES` builds each at ``n`` units of
hostility (segments, copies, fragments, records); tests compare the work done
at ``n`` and at a multiple of it, and benchmarks/hostile_streams.py times each
one at 1-3 MB against tshark.

Frames are raw Ethernet/IPv4|IPv6/TCP|UDP bytes built with ``struct`` (fast
enough for 40,000 packets in a blink; checksums are left zero, which neither
the bench nor tshark checks by default). Every shape carries the IMEI of the
test phone (tests/support/pcaps.py's rack) in cleartext HTTP or UDP, in the
bytes the shape makes hard to reach, so a run says whether the leak was still
found, or the verdict became inconclusive.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support import capfiles

PHONE_IP = "127.0.2.1"  # tests/support/pcaps.py's phone SIM7P0001
SERVER_IP = "127.0.86.10"  # zfhmd.vnet.cn in the test rack's overlay: CN
PHONE6, SERVER6 = "fd00::2:1", "2001:db8::86:10"
IMEI = "352098100123452"
START = 1_700_000_000.0
STEP = 0.0001  # seconds between frames: the whole flood lies well inside any timeout
CLIENT_PORT, HTTP_PORT, TLS_PORT = 40123, 80, 443
ISN_CLIENT, ISN_SERVER = 1000, 5000
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
FRAGMENT_UNIT = 8  # IP fragment offsets count 8-byte units

Record = tuple[float, bytes]


def _ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 0, flags: int = 0) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        ident,
        flags,
        64,
        proto,
        0,
        bytes(map(int, src.split("."))),
        bytes(map(int, dst.split("."))),
    )
    return header + payload


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack, 5 << 4, flags,
                       65535, 0, 0) + payload  # fmt: skip


class TcpFlow:
    """One client-to-server TCP connection, frames built by hand."""

    def __init__(self, server_port: int = HTTP_PORT) -> None:
        self.server_port = server_port
        self.records: list[Record] = []

    def frame(self, from_client: bool, seq: int, flags: int, payload: bytes = b"") -> None:
        if from_client:
            src, dst, sport, dport = PHONE_IP, SERVER_IP, CLIENT_PORT, self.server_port
            ack = ISN_SERVER + 1
        else:
            src, dst, sport, dport = SERVER_IP, PHONE_IP, self.server_port, CLIENT_PORT
            ack = ISN_CLIENT + 1
        segment = _tcp(sport, dport, seq, ack if flags & ACK else 0, flags, payload)
        when = START + len(self.records) * STEP
        self.records.append((when, capfiles.ethernet(_ipv4(src, dst, 6, segment))))

    def handshake(self) -> None:
        self.frame(True, ISN_CLIENT, SYN)
        self.frame(False, ISN_SERVER, SYN | ACK)
        self.frame(True, ISN_CLIENT + 1, ACK)

    def data(self, offset: int, payload: bytes) -> None:
        """Client bytes at ``offset`` of its stream."""
        self.frame(True, ISN_CLIENT + 1 + offset, PSH | ACK, payload)

    def close(self, length: int) -> None:
        """FIN both ways after the client's ``length`` bytes."""
        self.frame(True, ISN_CLIENT + 1 + length, FIN | ACK)
        self.frame(False, ISN_SERVER + 1, FIN | ACK)


def leaky_request(size: int) -> bytes:
    """An HTTP POST of ``size`` bytes (at least its head) whose body holds the IMEI."""
    body_start = b'{"imei":"' + IMEI.encode() + b'","pad":"'
    head = "POST /activation HTTP/1.1\r\nHost: zfhmd.vnet.cn\r\nContent-Length: {:>7}\r\n\r\n"
    fixed = len(head.format(0)) + len(body_start) + 2
    pad = max(0, size - fixed)
    body = body_start + b"p" * pad + b'"}'
    return head.format(len(body)).encode("ascii") + body


def reverse_segments(n: int) -> list[Record]:
    """``n`` one-byte segments of a leaky HTTP request, last byte first."""
    request = leaky_request(n)
    flow = TcpFlow()
    flow.handshake()
    for offset in range(len(request) - 1, -1, -1):
        flow.data(offset, request[offset : offset + 1])
    flow.close(len(request))
    return flow.records


def stray_copies(n: int) -> list[Record]:
    """A leaky request in one-byte segments, each sent again right after with other
    bytes: ``n`` stray copies of delivered one-byte chunks (first copy wins)."""
    request = leaky_request(n)
    flow = TcpFlow()
    flow.handshake()
    for offset, byte in enumerate(request):
        flow.data(offset, bytes([byte]))
        flow.data(offset, b"X")
    flow.close(len(request))
    return flow.records


def scattered_copies(n: int) -> list[Record]:
    """A leaky request in one-byte segments, then ``n`` one-byte copies with other bytes
    at offsets drawn (seeded) from the last few KB delivered: each is searched between
    the stream's bytes before and after it."""
    request = leaky_request(n)
    flow = TcpFlow()
    flow.handshake()
    draw = random.Random(n)
    for offset, byte in enumerate(request):
        flow.data(offset, bytes([byte]))
        if offset % 2:
            flow.data(draw.randrange(max(0, offset - 4096), offset), b"Y")
    flow.close(len(request))
    return flow.records


def held_copies(n: int) -> list[Record]:
    """One-byte pieces held out of order (every other byte, behind a hole at the start),
    then longer segments over them that bring the bytes between and say something else
    where they overlap a held piece: ``n`` held pieces, each with a stray copy."""
    request = leaky_request(2 * n)
    flow = TcpFlow()
    flow.handshake()
    for offset in range(1, len(request), 2):
        flow.data(offset, request[offset : offset + 1])
    width = 64
    for start in range(1, len(request), width):
        stop = min(start + width, len(request))
        copy = bytes(
            b if (start + i) % 2 == 0 else ord("Z") for i, b in enumerate(request[start:stop])
        )
        flow.data(start, copy)
    flow.data(0, request[:1])
    flow.close(len(request))
    return flow.records


def _udp_leak(size: int) -> bytes:
    text = b'{"imei":"' + IMEI.encode() + b'"}'
    return (text + b" " * size)[:size]


def fragments(n: int) -> list[Record]:
    """Four datagrams (two IPv4, two IPv6) of ``n`` eight-byte fragments each, every
    fragment but the first sent first, so each datagram is whole only at its last
    fragment; each carries the IMEI in a UDP payload."""
    size = n * FRAGMENT_UNIT
    records: list[Record] = []
    for number in range(4):
        payload = struct.pack("!HHHH", 40000 + number, 9999, 8 + size, 0) + _udp_leak(size)
        # offset 0 holds the UDP header and the start of the leak: it comes last
        units = -(-len(payload) // FRAGMENT_UNIT)
        for unit in [*range(1, units), 0]:
            piece = payload[unit * FRAGMENT_UNIT : (unit + 1) * FRAGMENT_UNIT]
            more = unit + 1 < units
            if number < 2:
                flags = (0x2000 if more else 0) | unit
                packet = _ipv4(PHONE_IP, SERVER_IP, 17, piece, ident=0x100 + number, flags=flags)
            else:
                packet = _ipv6_fragment(0x100 + number, unit, more, piece)
            records.append((START + len(records) * STEP, capfiles.ethernet(packet)))
    return records


def _ipv6_fragment(ident: int, unit: int, more: bool, piece: bytes) -> bytes:
    extension = struct.pack("!BBHI", 17, 0, (unit << 3) | int(more), ident)
    payload = extension + piece
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 44, 64,
                         _ip6(PHONE6), _ip6(SERVER6))  # fmt: skip
    return header + payload


def _ip6(text: str) -> bytes:
    import ipaddress

    return ipaddress.IPv6Address(text).packed


def empty_records(n: int) -> list[Record]:
    """A client stream that opens like TLS, then ``n`` empty handshake records, one per
    segment; then a leaky HTTP request in the clear on a second connection."""
    return _records_then_leak([struct.pack("!BBBH", 22, 3, 1, 0)] * n)


def tiny_records(n: int) -> list[Record]:
    """A ClientHello that says it is 60,000 bytes long, sent one byte per handshake record
    and one record per segment: ``n`` records; then a leaky HTTP request in the clear on
    a second connection."""
    message = b"\x01" + (60_000).to_bytes(3, "big") + bytes(range(256)) * (n // 256 + 1)
    return _records_then_leak([struct.pack("!BBBHB", 22, 3, 1, 1, b) for b in message[:n]])


def _records_then_leak(records: list[bytes]) -> list[Record]:
    flow = TcpFlow(TLS_PORT)
    flow.handshake()
    offset = 0
    for record in records:
        flow.data(offset, record)
        offset += len(record)
    flow.close(offset)
    leak = TcpFlow()
    leak.handshake()
    request = leaky_request(200)
    leak.data(0, request)
    leak.close(len(request))
    end = flow.records[-1][0]
    return flow.records + [(end + STEP + when - START, frame) for when, frame in leak.records]


@dataclass(frozen=True)
class Shape:
    name: str
    build: Callable[[int], list[Record]]
    unit: str  # what ``n`` counts
    size_2mb: int  # the ``n`` that makes about 2 MB


SHAPES = (
    Shape("reverse-segments", reverse_segments, "one-byte segments", 30_000),
    Shape("stray-copies", stray_copies, "stray one-byte copies", 15_000),
    Shape("scattered-copies", scattered_copies, "one-byte segments", 20_000),
    Shape("held-copies", held_copies, "held one-byte pieces", 20_000),
    Shape("fragments", fragments, "fragments per datagram", 8_190),
    Shape("empty-records", empty_records, "empty TLS records", 16_000),
    Shape("tiny-records", tiny_records, "one-byte TLS records", 10_000),
)


def write(path: Path, records: list[Record]) -> Path:
    return capfiles.pcap(path, records)
