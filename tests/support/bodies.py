"""Crafted captures of bodies without headers and MIME bodies (issue 13): the phone of
tests/support/pcaps.py sends its IMEI compressed with no Content-Encoding, over raw TCP
and UDP, and inside multipart parts; and the traps that must stay quiet."""

from __future__ import annotations

import base64
import quopri
import random
from pathlib import Path

import zstandard
from scapy.packet import Packet

from tests.support.hostile import HOST, _lookup
from tests.support.pcaps import (
    FOTA_IP,
    IMEI,
    OTHER_IMEI,
    PHONE_IP,
    TcpSession,
    leaky_post_body,
    udp_packet,
    write_pcap,
)

BOUNDARY = "----BenchFormBoundary7MA4YWxkTrZu0gW"
CLEAN = b'{"status": "ok", "battery": 87}'


def request(
    body: bytes, headers: str = "", *, content_type: str = "application/octet-stream"
) -> bytes:
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def tcp_flow(client_sends: bytes, port: int, *, server_port: int = 80) -> list[Packet]:
    session = TcpSession(PHONE_IP, port, FOTA_IP, server_port).handshake()
    session.send(client_sends)
    return session.close().packets


def http_capture(path: Path, message: bytes, port: int = 42000) -> Path:
    return write_pcap(path, _lookup() + tcp_flow(message, port))


def leak(imei: str = IMEI) -> bytes:
    return leaky_post_body().replace(IMEI.encode(), imei.encode())


def imei_only(imei: str = IMEI) -> bytes:
    """A payload whose only identifier is the IMEI (no ICCID or serial beside it)."""
    return b'{"device":{"imei":"' + imei.encode() + b'","model":"TA-1046"},"event":"boot"}'


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def gzip_magic_garbage(size: int = 600, seed: int = 13) -> bytes:
    """Random bytes that start with the gzip magic (and a deflate method byte)."""
    rng = random.Random(seed)
    return b"\x1f\x8b\x08\x00" + bytes(rng.randrange(256) for _ in range(size))


def base64_lines(data: bytes, width: int = 76) -> bytes:
    text = base64.b64encode(data)
    return b"\r\n".join(text[i : i + width] for i in range(0, len(text), width)) + b"\r\n"


def imei_across_a_line_break(width: int = 76) -> bytes:
    """A JSON payload placed so that the IMEI's base64 crosses the first line break."""
    for pad in range(200):
        payload = b'{"pad":"' + b"x" * pad + b'",' + imei_only()[1:]
        where = payload.index(IMEI.encode()) * 4 // 3
        if where < width < where + len(IMEI) * 4 // 3 - 4:
            return payload
    raise AssertionError("no padding puts the IMEI across the line break")


def multipart(parts: list[tuple[str, bytes]], boundary: str = BOUNDARY) -> bytes:
    """A multipart body: each part's header block (without the blank line) and bytes."""
    out = b""
    for head, body in parts:
        out += f"--{boundary}\r\n{head}\r\n\r\n".encode("ascii") + body + b"\r\n"
    return out + f"--{boundary}--\r\n".encode("ascii")


def form_data(parts: list[tuple[str, bytes]], boundary: str = BOUNDARY) -> bytes:
    return request(
        multipart(parts, boundary), content_type=f"multipart/form-data; boundary={boundary}"
    )


def base64_part_request() -> bytes:
    payload = imei_across_a_line_break()
    head = (
        'Content-Disposition: form-data; name="report"; filename="report.json"\r\n'
        "Content-Type: application/json\r\nContent-Transfer-Encoding: base64"
    )
    return form_data([('Content-Disposition: form-data; name="kind"', b"boot"),
                      (head, base64_lines(payload))])  # fmt: skip


def quoted_printable_part_request() -> bytes:
    # quoted-printable of the IMEI with every digit escaped: "=33=35=32..."
    escaped = b"".join(b"=%02X" % c for c in IMEI.encode())
    body = b'{"device":{"imei":"' + escaped + b'"}}'
    assert quopri.decodestring(body) == b'{"device":{"imei":"' + IMEI.encode() + b'"}}'
    head = (
        'Content-Disposition: form-data; name="report"\r\n'
        "Content-Transfer-Encoding: quoted-printable"
    )
    return form_data([(head, body)])


def other_phone_upload() -> bytes:
    """An ordinary upload: a photo, a text field, and a base64 part with another phone's IMEI."""
    rng = random.Random(7)
    photo = b"\xff\xd8\xff\xe0" + bytes(rng.randrange(256) for _ in range(3000))
    return form_data([
        ('Content-Disposition: form-data; name="note"', b"hello from the bench"),
        ('Content-Disposition: form-data; name="photo"; filename="a.jpg"\r\n'
         "Content-Type: image/jpeg", photo),
        ('Content-Disposition: form-data; name="peer"\r\nContent-Transfer-Encoding: base64',
         base64_lines(imei_only(OTHER_IMEI))),
    ])  # fmt: skip


def raw_tcp_capture(path: Path, payload: bytes, port: int = 42100) -> Path:
    return write_pcap(path, _lookup() + tcp_flow(payload, port, server_port=7000))


def udp_capture(path: Path, datagrams: list[bytes], port: int = 42200) -> Path:
    packets = _lookup()
    packets += [udp_packet(PHONE_IP, port, FOTA_IP, 7001, d) for d in datagrams]
    return write_pcap(path, packets)


def concurrent_raw_streams(count: int, payload: bytes, first_port: int = 43000) -> list[Packet]:
    """``count`` raw TCP streams, all open at once: each sends its first segment before any
    sends its second and closes (packets in the order they are made)."""
    packets = _lookup()
    sessions = [TcpSession(PHONE_IP, first_port + n, FOTA_IP, 7000) for n in range(count)]
    half = len(payload) // 2
    for step in ("handshake", "first", "rest"):
        for session in sessions:
            made = len(session.packets)
            if step == "handshake":
                session.handshake()
            elif step == "first":
                session.send(payload[:half])
            else:
                session.send(payload[half:])
                session.close()
            packets += session.packets[made:]
    return packets
