"""Write the throughput benchmark's mixed capture: a pcap FILE, nothing is sent.

Twenty phones (``benchmarks/rack20.yaml``) do DNS lookups, TLS sessions with
bulk data, cleartext HTTP and QUIC, interleaved packet by packet as a gateway
sniffer would see them. Frames are raw Ethernet/IPv4/TCP|UDP bytes built with
``struct`` (IP, TCP and UDP checksums included), so 400,000 packets take
seconds, not the minutes scapy would need.

- DNS: A and AAAA queries with their answers (some through a CNAME).
- TLS: a TCP handshake, a TLS 1.3 ClientHello with SNI as a browser sends it,
  the server's first flight, then application-data records of 1,400 bytes
  (mostly downloads), ACKs, FIN.
- HTTP: requests and responses in the clear, some with JSON bodies, some
  with larger binary bodies over many segments.
- QUIC: a 1,200-byte client Initial protected as RFC 9001 section 5 says
  (HKDF, AES-128-GCM, header protection), carrying a ClientHello with SNI,
  the server's Initial answering it (to the client's connection ID, from the
  one the server chose), then server 1-RTT-looking short-header datagrams and
  client ACK datagrams to those IDs.

A few HTTP requests carry one phone's IMEI in a JSON body: the planted leak
``bench analyze`` must find. The packet mix is exact for any packet count:
each packet's protocol is drawn from a shuffled list with the counts of
:data:`MIX`. Everything comes from one seeded ``random.Random``.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from benches.inventory import load_rack

HERE = Path(__file__).resolve().parent
RACK = HERE / "rack20.yaml"
DEFAULT_SEED = 1046
START_US = 1_700_000_000 * 1_000_000

# Share of packets per protocol; the counts are exact (largest remainder).
MIX = {"tls": 0.50, "quic": 0.20, "http": 0.18, "dns": 0.12}
# Conversations of one protocol in progress at once (their packets interleave).
CONCURRENCY = {"tls": 8, "quic": 6, "http": 6, "dns": 4}
# Where the planted leaks start, as fractions of the capture.
LEAK_AT = (0.01, 0.45, 0.90)
PLANTED_DEVICE = 6  # index in the rack: the seventh phone leaks its IMEI

GATEWAY_MAC = bytes.fromhex("020000140000")
RESOLVER = "10.20.0.254"  # the bench gateway's resolver: local, never a region
MSS = 1400
BULK_RECORD = 1400  # TLS application-data record, header included, one per segment
QUIC_INITIAL = 1200
QUIC_SHORT = 1252

# Public addresses of the fictional vendor's cloud, in countries the FIXED build allows.
HOSTS: dict[str, str] = {
    "fota.vendor.example": "95.216.10.20",  # FI
    "push.vendor.example": "65.21.40.10",  # FI
    "api.vendor.example": "135.181.5.7",  # FI
    "cdn.vendor.example": "151.101.2.10",  # US
    "maps.vendor.example": "3.120.5.5",  # DE
    "store.vendor.example": "13.48.10.20",  # SE
    "video.vendor.example": "104.16.120.5",  # US
    "connectivity.vendor.example": "18.195.1.1",  # DE
    "blobs.vendor.example": "151.101.66.10",  # US
    "activation.vendor.example": "52.28.1.1",  # DE
}
HOSTS_V6 = {name: f"2a01:4f9:c010:{i:x}::1" for i, name in enumerate(HOSTS, start=1)}
CNAMES = {
    "cdn.vendor.example": "edge.cdn.vendor.example",
    "video.vendor.example": "edge.video.vendor.example",
}
TLS_HOSTS = ("fota", "push", "api", "cdn", "maps", "store")
QUIC_HOSTS = ("cdn", "video", "store", "maps")
HTTP_HOSTS = ("connectivity", "api", "blobs")
LEAK_HOST = "activation.vendor.example"


def host(short: str) -> str:
    return f"{short}.vendor.example"


# --- checksums and frames ---------------------------------------------------


def ones_sum(data: bytes) -> int:
    """The folded 16-bit one's complement sum of ``data`` (RFC 1071).

    65536 is 1 modulo 65535, so the sum of the 16-bit words is the whole
    buffer read as one big-endian integer, modulo 65535; a non-zero buffer
    whose words sum to a multiple of 65535 folds to 0xFFFF, not 0.
    """
    if len(data) % 2:
        data += b"\0"
    total = int.from_bytes(data, "big") % 0xFFFF
    if total == 0 and any(data):
        return 0xFFFF
    return total


def checksum(data: bytes, partial: int = 0) -> int:
    total = ones_sum(data) + partial
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class Host:
    ip: bytes  # four bytes
    mac: bytes  # six bytes


@dataclass
class Wire:
    """Frames between a client and a server, either way, with IP ids that count up."""

    client: Host
    server: Host
    cport: int
    sport: int
    ids: list[int] = field(default_factory=lambda: [0, 0])

    def frame(self, from_client: bool, proto: int, transport: bytes) -> bytes:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        side = 0 if from_client else 1
        self.ids[side] = (self.ids[side] + 1) & 0xFFFF
        ttl = 64 if from_client else 57
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(transport),
            self.ids[side],
            0x4000,  # don't fragment
            ttl,
            proto,
            0,
            src.ip,
            dst.ip,
        )
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return dst.mac + src.mac + b"\x08\x00" + header + transport

    def _pseudo(self, from_client: bool, proto: int, length: int) -> int:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        return ones_sum(src.ip + dst.ip + struct.pack("!BBH", 0, proto, length))

    def udp(self, from_client: bool, payload: bytes) -> bytes:
        sport, dport = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        length = 8 + len(payload)
        head = struct.pack("!HHHH", sport, dport, length, 0)
        value = checksum(head + payload, self._pseudo(from_client, 17, length)) or 0xFFFF
        return self.frame(from_client, 17, head[:6] + struct.pack("!H", value) + payload)

    def tcp(
        self,
        from_client: bool,
        seq: int,
        ack: int,
        flags: int,
        payload: bytes = b"",
        options: bytes = b"",
    ) -> bytes:
        sport, dport = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        offset = (20 + len(options)) // 4
        head = (
            struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, 0xFFFF, 0, 0)
            + options
        )
        length = len(head) + len(payload)
        value = checksum(head + payload, self._pseudo(from_client, 6, length))
        head = head[:16] + struct.pack("!H", value) + head[18:]
        return self.frame(from_client, 6, head + payload)


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
SYN_OPTIONS = bytes.fromhex("020405b4") + b"\x01\x03\x03\x07" + b"\x04\x02\x01\x01"


class TcpConnection:
    """One TCP connection's frames, with real sequence and acknowledgement numbers."""

    def __init__(self, wire: Wire, rng: random.Random) -> None:
        self.wire = wire
        self.seq = [rng.getrandbits(32), rng.getrandbits(32)]  # next byte: client, server

    def _advance(self, side: int, count: int) -> None:
        self.seq[side] = (self.seq[side] + count) & 0xFFFFFFFF

    def handshake(self) -> Iterator[bytes]:
        yield self.wire.tcp(True, self.seq[0], 0, SYN, options=SYN_OPTIONS)
        self._advance(0, 1)
        yield self.wire.tcp(False, self.seq[1], self.seq[0], SYN | ACK, options=SYN_OPTIONS)
        self._advance(1, 1)
        yield self.ack(True)

    def ack(self, from_client: bool) -> bytes:
        side = 0 if from_client else 1
        return self.wire.tcp(from_client, self.seq[side], self.seq[1 - side], ACK)

    def send(self, from_client: bool, data: bytes, *, ack_every: int = 2) -> Iterator[bytes]:
        """``data`` in MSS-sized segments; the receiver ACKs every ``ack_every`` of them."""
        side = 0 if from_client else 1
        chunks = [data[i : i + MSS] for i in range(0, len(data), MSS)]
        for number, chunk in enumerate(chunks, start=1):
            flags = ACK | PSH if number == len(chunks) else ACK
            yield self.wire.tcp(from_client, self.seq[side], self.seq[1 - side], flags, chunk)
            self._advance(side, len(chunk))
            if number % ack_every == 0 or number == len(chunks):
                yield self.ack(not from_client)

    def segments(self, from_client: bool, payloads: Iterator[bytes]) -> Iterator[bytes]:
        """One segment per payload (each at most MSS); the receiver ACKs every second one."""
        side = 0 if from_client else 1
        count = 0
        for payload in payloads:
            flags = ACK | PSH
            yield self.wire.tcp(from_client, self.seq[side], self.seq[1 - side], flags, payload)
            self._advance(side, len(payload))
            count += 1
            if count % 2 == 0:
                yield self.ack(not from_client)
        if count % 2:
            yield self.ack(not from_client)

    def close(self) -> Iterator[bytes]:
        yield self.wire.tcp(True, self.seq[0], self.seq[1], FIN | ACK)
        self._advance(0, 1)
        yield self.wire.tcp(False, self.seq[1], self.seq[0], FIN | ACK)
        self._advance(1, 1)
        yield self.ack(True)


# --- TLS -----------------------------------------------------------------------


def _vec(length_bytes: int, data: bytes) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _ext(kind: int, data: bytes) -> bytes:
    return struct.pack("!H", kind) + _vec(2, data)


def _varint(value: int) -> bytes:
    """A QUIC variable-length integer (RFC 9000 section 16)."""
    if value < 1 << 6:
        return bytes([value])
    if value < 1 << 14:
        return struct.pack("!H", value | 0x4000)
    if value < 1 << 30:
        return struct.pack("!I", value | 0x80000000)
    return struct.pack("!Q", value | 0xC000000000000000)


TCP_SUITES = bytes.fromhex("130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035")
QUIC_SUITES = bytes.fromhex("130113021303")
SIGNATURE_ALGORITHMS = bytes.fromhex("0403080404010503080505010806060102010201")
GROUPS = bytes.fromhex("001d00170018")


def client_hello(
    sni: str, random_bytes: bytes, key_share: bytes, *, quic_params: bytes | None = None
) -> bytes:
    """A TLS 1.3 ClientHello handshake message as a current Android browser sends it.

    Over TCP it has a 32-byte legacy session id and pads to 512 bytes; in QUIC
    (``quic_params`` given) the session id is empty (RFC 9001 section 8.4), the
    ALPN is h3 and the quic_transport_parameters extension is present.
    """
    name = sni.encode("ascii")
    extensions = [_ext(0, _vec(2, b"\x00" + _vec(2, name)))]
    if quic_params is None:
        extensions += [
            _ext(23, b""),  # extended_master_secret
            _ext(0xFF01, b"\x00"),  # renegotiation_info
            _ext(11, b"\x01\x00"),  # ec_point_formats
            _ext(35, b""),  # session_ticket
            _ext(5, b"\x01\x00\x00\x00\x00"),  # status_request
            _ext(18, b""),  # signed_certificate_timestamp
        ]
        alpn = _vec(1, b"h2") + _vec(1, b"http/1.1")
        versions = _vec(1, b"\x03\x04\x03\x03")
    else:
        alpn = _vec(1, b"h3")
        versions = _vec(1, b"\x03\x04")
    extensions += [
        _ext(10, _vec(2, GROUPS)),
        _ext(16, _vec(2, alpn)),
        _ext(13, _vec(2, SIGNATURE_ALGORITHMS)),
        _ext(51, _vec(2, b"\x00\x1d" + _vec(2, key_share))),
        _ext(45, b"\x01\x01"),  # psk_key_exchange_modes: psk_dhe_ke
        _ext(43, versions),
    ]
    if quic_params is not None:
        extensions.append(_ext(0x39, quic_params))
    session = b"" if quic_params is not None else random_bytes[::-1]
    suites = QUIC_SUITES if quic_params is not None else TCP_SUITES
    head = b"\x03\x03" + random_bytes + _vec(1, session) + _vec(2, suites) + b"\x01\x00"
    body = head + _vec(2, b"".join(extensions))
    if quic_params is None and len(body) <= 504:  # pad the message to 512 bytes
        padding = _ext(21, bytes(504 - len(body)))
        body = head + _vec(2, b"".join(extensions) + padding)
    return b"\x01" + _vec(3, body)


def tls_record(content_type: int, fragment: bytes, version: bytes = b"\x03\x03") -> bytes:
    return bytes([content_type]) + version + _vec(2, fragment)


def server_hello(random_bytes: bytes, session: bytes, key_share: bytes) -> bytes:
    extensions = _ext(43, b"\x03\x04") + _ext(51, b"\x00\x1d" + _vec(2, key_share))
    body = b"\x03\x03" + random_bytes + _vec(1, session) + b"\x13\x01\x00" + _vec(2, extensions)
    return b"\x02" + _vec(3, body)


# --- QUIC (RFC 9001) -----------------------------------------------------------

INITIAL_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def hkdf_expand_label(secret: bytes, label: str, length: int) -> bytes:
    """TLS 1.3 HKDF-Expand-Label with an empty context (RFC 8446 section 7.1)."""
    full = b"tls13 " + label.encode("ascii")
    info = struct.pack("!H", length) + _vec(1, full) + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


@dataclass(frozen=True)
class InitialKeys:
    key: bytes
    iv: bytes
    hp: bytes


def client_initial_keys(dcid: bytes, side: str = "client in") -> InitialKeys:
    """The client's (or with ``side="server in"`` the server's) Initial keys for the
    client's first Destination Connection ID (RFC 9001 section 5.2)."""
    extract = hmac.HMAC(INITIAL_SALT_V1, hashes.SHA256())
    extract.update(dcid)
    secret = hkdf_expand_label(extract.finalize(), side, 32)
    return InitialKeys(
        key=hkdf_expand_label(secret, "quic key", 16),
        iv=hkdf_expand_label(secret, "quic iv", 12),
        hp=hkdf_expand_label(secret, "quic hp", 16),
    )


def protect_initial(header: bytes, pn_length: int, payload: bytes, keys: InitialKeys) -> bytes:
    """Encrypt ``payload`` under ``header`` (whose last bytes are the packet number),
    then apply header protection (RFC 9001 sections 5.3 and 5.4)."""
    pn_offset = len(header) - pn_length
    packet_number = int.from_bytes(header[pn_offset:], "big")
    nonce = (int.from_bytes(keys.iv, "big") ^ packet_number).to_bytes(12, "big")
    sealed = AESGCM(keys.key).encrypt(nonce, payload, header)
    sample_at = 4 - pn_length  # the sample starts 4 bytes after the packet number's start
    sample = sealed[sample_at : sample_at + 16]
    encryptor = Cipher(algorithms.AES(keys.hp), modes.ECB()).encryptor()
    mask = encryptor.update(sample) + encryptor.finalize()
    first = bytes([header[0] ^ (mask[0] & 0x0F)])
    number = bytes(b ^ m for b, m in zip(header[pn_offset:], mask[1 : 1 + pn_length], strict=True))
    return first + header[1:pn_offset] + number + sealed


def quic_transport_parameters(scid: bytes) -> bytes:
    params = [
        (0x01, _varint(30_000)),  # max_idle_timeout
        (0x03, _varint(1472)),  # max_udp_payload_size
        (0x04, _varint(15_728_640)),  # initial_max_data
        (0x05, _varint(6_291_456)),  # initial_max_stream_data_bidi_local
        (0x06, _varint(6_291_456)),  # initial_max_stream_data_bidi_remote
        (0x07, _varint(6_291_456)),  # initial_max_stream_data_uni
        (0x08, _varint(100)),  # initial_max_streams_bidi
        (0x09, _varint(103)),  # initial_max_streams_uni
        (0x0F, scid),  # initial_source_connection_id
    ]
    return b"".join(_varint(kind) + _varint(len(value)) + value for kind, value in params)


def quic_client_initial(
    dcid: bytes,
    scid: bytes,
    packet_number: int,
    crypto: bytes,
    *,
    pn_length: int = 2,
    size: int = QUIC_INITIAL,
    keys: InitialKeys | None = None,
) -> bytes:
    """A protected client Initial carrying ``crypto`` (a ClientHello) padded to ``size``.
    A server's Initial: ``keys`` the server's, ``dcid`` the client's source ID."""
    fixed = 1 + 4 + 1 + len(dcid) + 1 + len(scid) + 1 + 2 + pn_length  # token empty
    payload_length = size - fixed - 16  # 16: the AEAD tag
    frame = b"\x06" + _varint(0) + _varint(len(crypto)) + crypto
    payload = frame + bytes(payload_length - len(frame))  # PADDING frames
    header = (
        bytes([0xC0 | (pn_length - 1)])
        + b"\x00\x00\x00\x01"
        + _vec(1, dcid)
        + _vec(1, scid)
        + b"\x00"
        + struct.pack("!H", 0x4000 | (pn_length + payload_length + 16))
        + packet_number.to_bytes(pn_length, "big")
    )
    return protect_initial(header, pn_length, payload, keys or client_initial_keys(dcid))


# --- DNS -----------------------------------------------------------------------


def dns_name(name: str) -> bytes:
    return b"".join(_vec(1, label.encode("ascii")) for label in name.split(".")) + b"\x00"


def dns_query(qid: int, name: str, qtype: int) -> bytes:
    return (
        struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        + dns_name(name)
        + struct.pack("!HH", qtype, 1)
    )


def dns_response(qid: int, name: str, qtype: int, address: bytes, cname: str | None) -> bytes:
    answers = []
    owner = b"\xc0\x0c"  # the question's name
    if cname is not None:
        target = dns_name(cname)
        answers.append(owner + struct.pack("!HHIH", 5, 1, 300, len(target)) + target)
        # a pointer to the CNAME's target: header, question, then this answer's fixed part
        owner = struct.pack("!H", 0xC000 | (12 + len(dns_name(name)) + 4 + 12))
    answers.append(owner + struct.pack("!HHIH", qtype, 1, 60, len(address)) + address)
    question = dns_name(name) + struct.pack("!HH", qtype, 1)
    head = struct.pack("!HHHHHH", qid, 0x8180, 1, len(answers), 0, 0)
    return head + question + b"".join(answers)


# --- conversations -----------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    serial: str
    host: Host
    imei: str


@dataclass(frozen=True)
class Plant:
    """The leak planted in the capture: whose identifier, and the frames that carry it."""

    device: str
    identifier: str
    value: str
    frames: tuple[int, ...]


class Context:
    """What the conversations share: the seeded generator, the phones, port numbers."""

    def __init__(self, phones: list[Phone], rng: random.Random) -> None:
        self.phones = phones
        self.rng = rng
        self.noise_pool = rng.randbytes(1 << 22)
        self._ports = {p.serial: 32768 + rng.randrange(20_000) for p in phones}

    def noise(self, size: int) -> bytes:
        """Bytes that look like ciphertext."""
        start = self.rng.randrange(len(self.noise_pool) - size)
        return self.noise_pool[start : start + size]

    def phone(self) -> Phone:
        return self.rng.choice(self.phones)

    def port(self, phone: Phone) -> int:
        port = self._ports[phone.serial] + self.rng.randrange(1, 4)
        if port > 60999:
            port = 32768 + port % 1000
        self._ports[phone.serial] = port
        return port

    def wire(self, phone: Phone, server_ip: str, server_port: int) -> Wire:
        server = Host(IPv4Address(server_ip).packed, GATEWAY_MAC)
        return Wire(phone.host, server, self.port(phone), server_port, self.ip_ids())

    def ip_ids(self) -> list[int]:
        """Where the IP identification counters of a new conversation start (client, server)."""
        return [self.rng.randrange(1 << 16), self.rng.randrange(1 << 16)]


def dns_lookup(ctx: Context, phone: Phone) -> Iterator[bytes]:
    rng = ctx.rng
    name = rng.choice(list(HOSTS))
    wire = ctx.wire(phone, RESOLVER, 53)
    qid = rng.randrange(1 << 16)
    if rng.random() < 0.3:
        qtype, address = 28, IPv6Address(HOSTS_V6[name]).packed
    else:
        qtype, address = 1, IPv4Address(HOSTS[name]).packed
    yield wire.udp(True, dns_query(qid, name, qtype))
    yield wire.udp(False, dns_response(qid, name, qtype, address, CNAMES.get(name)))


def tls_session(ctx: Context, phone: Phone) -> Iterator[bytes]:
    rng = ctx.rng
    name = host(rng.choice(TLS_HOSTS))
    conn = TcpConnection(ctx.wire(phone, HOSTS[name], 443), rng)
    yield from conn.handshake()
    hello = client_hello(name, ctx.noise(32), ctx.noise(32))
    yield from conn.send(True, tls_record(22, hello, b"\x03\x01"))
    first_flight = (
        tls_record(22, server_hello(ctx.noise(32), hello[39:71], ctx.noise(32)))
        + tls_record(20, b"\x01")
        + tls_record(23, ctx.noise(rng.randrange(2500, 4500)))
    )
    yield from conn.send(False, first_flight)
    request = tls_record(20, b"\x01") + tls_record(23, ctx.noise(53))
    request += tls_record(23, ctx.noise(rng.randrange(80, 600)))
    yield from conn.send(True, request)
    upload = rng.random() < 0.15
    records = (tls_record(23, ctx.noise(BULK_RECORD - 5)) for _ in range(_bulk_records(rng)))
    yield from conn.segments(upload, records)
    yield from conn.close()


def _bulk_records(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.5:
        return rng.randrange(4, 24)
    if kind < 0.9:
        return rng.randrange(40, 160)
    return rng.randrange(300, 700)


JSON_KEYS = ("id", "status", "version", "channel", "ttl", "count", "enabled", "region")


def json_body(rng: random.Random, items: int) -> bytes:
    entries = []
    for index in range(items):
        entry = {key: _json_value(rng, key) for key in rng.sample(JSON_KEYS, 4)}
        entry["id"] = index + rng.randrange(1000, 9000)
        entries.append(entry)
    return json.dumps({"items": entries, "next": None}, separators=(",", ":")).encode()


def _json_value(rng: random.Random, key: str) -> object:
    if key in ("id", "ttl", "count"):
        return rng.randrange(0, 100_000)
    if key == "enabled":
        return rng.random() < 0.5
    if key == "version":
        return f"3.{rng.randrange(30)}.{rng.randrange(10)}"
    return rng.choice(("stable", "beta", "eu-north", "global", "ok", "pending"))


def http_request(method: str, name: str, target: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {name}\r\n"
        "User-Agent: Dalvik/2.1.0 (Linux; U; Android 10; TA-1046 Build/QKQ1.190828.002)\r\n"
        "Accept-Encoding: identity\r\nConnection: keep-alive\r\n"
    )
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode("ascii") + body


def http_response(status: str, body: bytes = b"", content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nDate: {formatdate(START_US // 1_000_000, usegmt=True)}\r\n"
        "Server: vendor-edge\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if body:
        head += f"Content-Type: {content_type}\r\n"
    return (head + "\r\n").encode("ascii") + body


def http_exchange(ctx: Context, short: str) -> tuple[bytes, bytes]:
    rng = ctx.rng
    name = host(short)
    if short == "connectivity":
        return http_request("GET", name, "/generate_204"), http_response("204 No Content")
    if short == "blobs":
        blob = ctx.noise(rng.randrange(8_000, 60_000))
        target = f"/blobs/{rng.randrange(1 << 32):08x}"
        binary = "application/octet-stream"
        return http_request("GET", name, target), http_response("200 OK", blob, binary)
    if rng.random() < 0.5:
        target = f"/v1/config?model=TA-1046&build=00WW_3_22D&n={rng.randrange(1000)}"
        body = json_body(rng, rng.randrange(1, 30))
        return http_request("GET", name, target), http_response("200 OK", body)
    events = json_body(rng, rng.randrange(1, 12))
    accepted = b'{"accepted":true}'
    return http_request("POST", name, "/v1/events", events), http_response("200 OK", accepted)


def leak_body(phone: Phone) -> bytes:
    document = {"imei": phone.imei, "model": "TA-1046", "build": "00WW_3_22D", "event": "boot"}
    return json.dumps(document, separators=(",", ":")).encode()


def http_session(ctx: Context, phone: Phone, leak: bool = False) -> Iterator[bytes]:
    rng = ctx.rng
    if leak:
        name = LEAK_HOST
        exchanges = [
            (
                http_request("POST", name, "/v1/activate", leak_body(phone)),
                http_response("200 OK", b'{"status":"activated"}'),
            )
        ]
    else:
        short = rng.choice(HTTP_HOSTS)
        name = host(short)
        exchanges = [http_exchange(ctx, short) for _ in range(rng.randrange(1, 4))]
    conn = TcpConnection(ctx.wire(phone, HOSTS[name], 80), rng)
    yield from conn.handshake()
    for request, response in exchanges:
        yield from conn.send(True, request, ack_every=1)
        yield from conn.send(False, response)
    yield from conn.close()


def quic_session(ctx: Context, phone: Phone) -> Iterator[bytes]:
    rng = ctx.rng
    name = host(rng.choice(QUIC_HOSTS))
    wire = ctx.wire(phone, HOSTS[name], 443)
    dcid, scid, server_cid = ctx.noise(8), ctx.noise(8), ctx.noise(8)
    hello = client_hello(
        name, ctx.noise(32), ctx.noise(32), quic_params=quic_transport_parameters(scid)
    )
    yield wire.udp(True, quic_client_initial(dcid, scid, 0, hello))
    # The server answers with its Initial (a ServerHello, to the client's ID, from the
    # one it chose), then 1-RTT datagrams to the client's ID.
    server_keys = client_initial_keys(dcid, "server in")
    reply = server_hello(ctx.noise(32), b"", ctx.noise(32))
    answer = quic_client_initial(scid, server_cid, 0, reply, size=QUIC_SHORT, keys=server_keys)
    for number in range(1, _quic_datagrams(rng) + 1):
        first = bytes([0x40 | rng.getrandbits(6)])
        short = first + scid + ctx.noise(QUIC_SHORT - 9)
        yield wire.udp(False, answer if number == 1 else short)
        if number % 6 == 0:
            ack = bytes([0x40 | rng.getrandbits(6)]) + server_cid + ctx.noise(rng.randrange(24, 48))
            yield wire.udp(True, ack)


def _quic_datagrams(rng: random.Random) -> int:
    return rng.randrange(2, 20) if rng.random() < 0.6 else rng.randrange(40, 250)


Conversation = Iterator[bytes]
STARTERS: dict[str, Callable[[Context, Phone], Conversation]] = {
    "tls": tls_session,
    "quic": quic_session,
    "http": http_session,
    "dns": dns_lookup,
}


# --- the schedule --------------------------------------------------------------


def packet_counts(total: int) -> dict[str, int]:
    """Packets per protocol: :data:`MIX` shares of ``total``, by largest remainder."""
    exact = {kind: total * share for kind, share in MIX.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(MIX, key=lambda k: exact[k] - counts[k], reverse=True)
    for kind in by_remainder[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


class Pool:
    """The conversations of one protocol in progress; urgent ones go first."""

    def __init__(self, ctx: Context, kind: str) -> None:
        self.ctx = ctx
        self.start = STARTERS[kind]
        self.size = CONCURRENCY[kind]
        self.active: list[Conversation] = []
        self.urgent: list[Conversation] = []

    def next_frame(self) -> bytes:
        while True:
            if self.urgent:
                current, index, queue = self.urgent[0], 0, self.urgent
            else:
                while len(self.active) < self.size:
                    self.active.append(self.start(self.ctx, self.ctx.phone()))
                index = self.ctx.rng.randrange(len(self.active))
                current, queue = self.active[index], self.active
            frame = next(current, None)
            if frame is not None:
                return frame
            queue.pop(index)


@dataclass(frozen=True)
class CaptureInfo:
    path: str
    packets: int
    seed: int
    mix: dict[str, int]
    plant: Plant
    generator: str  # hash of this file and the rack: the cache key
    seconds: float


PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262_144, 1)


def load_phones(rack_path: Path = RACK) -> list[Phone]:
    rack = load_rack(rack_path)
    phones = []
    for device in rack.devices:
        if device.network.ipv4 is None or device.network.mac is None:
            raise ValueError(f"{rack_path}: {device.serial} needs network.ipv4 and network.mac")
        address = IPv4Address(device.network.ipv4).packed
        mac = bytes.fromhex(device.network.mac.replace(":", ""))
        phones.append(Phone(device.serial, Host(address, mac), device.identity.imei[0]))
    return phones


def generate(path: Path, packets: int, seed: int = DEFAULT_SEED, rack: Path = RACK) -> CaptureInfo:
    """Write the mixed capture of exactly ``packets`` packets to ``path``."""
    started = time.perf_counter()
    rng = random.Random(seed)
    phones = load_phones(rack)
    ctx = Context(phones, rng)
    counts = packet_counts(packets)
    labels = [kind for kind, count in counts.items() for _ in range(count)]
    rng.shuffle(labels)
    pools = {kind: Pool(ctx, kind) for kind in MIX}
    planted = phones[PLANTED_DEVICE]
    needle = planted.imei.encode()
    leaks = sorted(int(packets * at) for at in LEAK_AT)
    leak_frames = []
    clock = START_US
    with path.open("wb", buffering=1 << 20) as out:
        out.write(PCAP_HEADER)
        for index, kind in enumerate(labels):
            while leaks and index >= leaks[0]:
                leaks.pop(0)
                pools["http"].urgent.append(http_session(ctx, planted, leak=True))
            frame = pools[kind].next_frame()
            clock += rng.randrange(1, 1000)
            _write_record(out, clock, frame)
            if kind == "http" and needle in frame:
                leak_frames.append(index + 1)
    plant = Plant(planted.serial, "imei", planted.imei, tuple(leak_frames))
    return CaptureInfo(
        str(path), packets, seed, counts, plant, generator_hash(rack), time.perf_counter() - started
    )


def _write_record(out: BinaryIO, clock_us: int, frame: bytes) -> None:
    seconds, micros = divmod(clock_us, 1_000_000)
    out.write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
    out.write(frame)


# --- reading it back -----------------------------------------------------------


def records(path: Path) -> Iterator[bytes]:
    """The frames of a little-endian microsecond pcap (the kind :func:`generate` writes)."""
    with path.open("rb", buffering=1 << 20) as f:
        header = f.read(24)
        if header[:4] != PCAP_HEADER[:4]:
            raise ValueError(f"{path}: not a little-endian pcap")
        while True:
            head = f.read(16)
            if len(head) < 16:
                return
            _, _, caplen, _ = struct.unpack("<IIII", head)
            yield f.read(caplen)


def classify(frame: bytes) -> str:
    """The protocol a frame belongs to, by transport and server port."""
    if frame[12:14] != b"\x08\x00":
        return "other"
    ihl = (frame[14] & 0x0F) * 4
    proto = frame[23]
    sport, dport = struct.unpack_from("!HH", frame, 14 + ihl)
    ports = {sport, dport}
    if proto == 6:
        return "tls" if 443 in ports else "http" if 80 in ports else "other"
    if proto == 17:
        return "dns" if 53 in ports else "quic" if 443 in ports else "other"
    return "other"


def count_mix(path: Path) -> Counter[str]:
    """Packets per protocol in a capture, read back from the file."""
    return Counter(classify(frame) for frame in records(path))


def write_head(source: Path, target: Path, count: int) -> int:
    """Copy the first ``count`` packets of ``source`` to ``target``; returns how many."""
    written = 0
    with target.open("wb") as out:
        out.write(PCAP_HEADER)
        for frame in records(source):
            if written == count:
                break
            _write_record(out, START_US + written, frame)
            written += 1
    return written


# --- the cache -----------------------------------------------------------------


def generator_hash(rack: Path = RACK) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes() + rack.read_bytes())
    return digest.hexdigest()[:12]


def ensure_capture(
    cache: Path, packets: int, seed: int = DEFAULT_SEED, *, regenerate: bool = False
) -> tuple[CaptureInfo, bool]:
    """The cached capture for (packets, seed, generator), made if missing; (info, was cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"mixed-{packets}-seed{seed}-{generator_hash()}"
    pcap, sidecar = cache / f"{stem}.pcap", cache / f"{stem}.json"
    if not regenerate and pcap.exists() and sidecar.exists():
        return read_info(pcap), True
    _prune(cache, generator_hash())
    partial = cache / f"{stem}.pcap.partial"
    info = generate(partial, packets, seed)
    partial.replace(pcap)
    info = CaptureInfo(**{**asdict(info), "path": str(pcap), "plant": info.plant})
    sidecar.write_text(json.dumps(asdict(info), indent=2) + "\n")
    return info, False


def _prune(cache: Path, current: str) -> None:
    """Delete captures an older generator made: they can never be used again."""
    for stale in cache.glob("mixed-*"):
        if f"-{current}" not in stale.name:
            stale.unlink()


def read_info(pcap: Path) -> CaptureInfo:
    """What :func:`ensure_capture` recorded about a cached capture (its JSON sidecar)."""
    raw = json.loads(pcap.with_suffix(".json").read_text())
    plant = raw.pop("plant")
    plant["frames"] = tuple(plant["frames"])
    return CaptureInfo(**raw, plant=Plant(**plant))


def cached_head(info: CaptureInfo, count: int) -> Path:
    """A cached file of the capture's first ``count`` packets."""
    source = Path(info.path)
    target = source.with_name(f"{source.stem}-head{count}.pcap")
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        partial = target.with_name(target.name + ".partial")
        write_head(source, partial, count)
        partial.replace(target)
    return target
