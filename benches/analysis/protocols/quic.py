"""The server name in a QUIC client Initial (RFC 9000, RFC 9001 section 5, RFC 9369).

Initial packets are encrypted, but with keys anyone can derive from the packet's
own Destination Connection ID. So a gateway can read the TLS ClientHello a phone
sends when it opens an HTTP/3 connection, and with it the name it asked for:

1. initial secret = HKDF-Extract(version salt, DCID); client secret =
   HKDF-Expand-Label(initial secret, "client in"); key, iv and hp from that;
2. remove header protection (AES-128-ECB over a sample of the ciphertext);
3. AEAD_AES_128_GCM-decrypt the payload, the header as associated data;
4. collect the CRYPTO frames by offset: they carry the ClientHello as a TLS
   handshake message, without a record header.

One datagram may hold several packets (coalesced, RFC 9000 section 12.2), and
a large ClientHello (post-quantum key shares) spans several Initials in several
datagrams: ``ClientInitials`` collects a connection's datagrams for that case.

Hostile bytes never raise: anything that does not decrypt is not an Initial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from benches.analysis.protocols.tls import ClientHello, parse_client_hello_message

QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF


@dataclass(frozen=True)
class _Version:
    salt: bytes
    label_prefix: str  # "quic " or "quicv2 "
    initial_type: int  # the long header packet type of an Initial

    @property
    def retry_type(self) -> int:
        return (self.initial_type + 3) % 4  # 3 in v1, 0 in v2


VERSIONS = {
    # RFC 9001 section 5.2
    QUIC_V1: _Version(bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), "quic ", 0),
    # RFC 9369 sections 3.2 and 3.3
    QUIC_V2: _Version(bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), "quicv2 ", 1),
}

MAX_CID = 20  # RFC 9000 section 17.2 for versions 1 and 2
MAX_CRYPTO = 64 * 1024  # CRYPTO bytes kept per connection; a ClientHello is far smaller
FRAME_PADDING, FRAME_PING, FRAME_ACK, FRAME_ACK_ECN = 0x00, 0x01, 0x02, 0x03
FRAME_CRYPTO, FRAME_CLOSE = 0x06, 0x1C


@dataclass(frozen=True)
class InitialPacket:
    """One decrypted client Initial."""

    version: int
    dcid: bytes
    scid: bytes
    token: bytes
    packet_number: int
    crypto: tuple[tuple[int, bytes], ...]  # (offset, data) of its CRYPTO frames


@dataclass(frozen=True)
class QuicInitial:
    """What the client Initials of a datagram (or a connection) reveal."""

    version: int
    dcid: bytes
    crypto: bytes  # the CRYPTO stream from offset 0 up to the first hole
    client_hello: ClientHello | None

    @property
    def sni(self) -> str | None:
        return self.client_hello.sni if self.client_hello else None


def decrypt_initials(datagram: bytes) -> list[InitialPacket]:
    """Every client Initial that decrypts in a datagram, in order."""
    packets: list[InitialPacket] = []
    offset = 0
    try:
        while offset < len(datagram):
            parsed = _long_header(datagram, offset)
            if parsed is None:
                break  # a short header packet, or garbage: the rest of the datagram
            header, end = parsed
            if header.initial:
                packet = _decrypt(datagram, header, end)
                if packet is not None:
                    packets.append(packet)
            offset = end
    except Exception:  # defensive: hostile bytes must never stop the analysis
        return packets
    return packets


@dataclass
class ClientInitials:
    """The client Initials of one connection, across datagrams."""

    version: int | None = None
    dcid: bytes | None = None
    _fragments: dict[int, bytes] = field(default_factory=dict, init=False, repr=False)
    _stored: int = field(default=0, init=False, repr=False)

    def add(self, datagram: bytes) -> bool:
        """Take a datagram's Initials; True if it held any for this connection."""
        added = False
        for packet in decrypt_initials(datagram):
            if self.dcid is None:
                self.version, self.dcid = packet.version, packet.dcid
            elif (packet.version, packet.dcid) != (self.version, self.dcid):
                continue  # a new DCID after Retry is a new key schedule: keep the first
            for offset, data in packet.crypto:
                kept = data[: max(MAX_CRYPTO - offset, 0)]
                if kept and offset not in self._fragments and self._stored < 2 * MAX_CRYPTO:
                    self._fragments[offset] = kept
                    self._stored += len(kept)
            added = True
        return added

    def crypto(self) -> bytes:
        """The CRYPTO stream from offset 0 up to its first hole."""
        stream = bytearray()
        for offset in sorted(self._fragments):
            if offset > len(stream):
                break
            stream += self._fragments[offset][len(stream) - offset :]
        return bytes(stream)

    def hello_complete(self) -> bool:
        """Whether the CRYPTO stream holds a whole handshake message (the ClientHello)."""
        crypto = self.crypto()
        return len(crypto) >= 4 and len(crypto) >= 4 + int.from_bytes(crypto[1:4], "big")

    def result(self) -> QuicInitial | None:
        if self.version is None or self.dcid is None:
            return None
        crypto = self.crypto()
        return QuicInitial(self.version, self.dcid, crypto, parse_client_hello_message(crypto))

    @property
    def sni(self) -> str | None:
        result = self.result()
        return result.sni if result else None


# --- packets ---------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    version: int
    initial: bool
    dcid: bytes
    scid: bytes
    token: bytes
    start: int  # the packet's first byte in the datagram
    pn_offset: int  # where the (protected) packet number starts


def _long_header(data: bytes, start: int) -> tuple[_Header, int] | None:
    """A long header packet at ``start`` (RFC 9000 section 17.2) and where it ends."""
    reader = _Reader(data, start)
    first = reader.byte()
    if first is None or not first & 0x80:
        return None
    version = reader.uint(4)
    if version is None or version == 0:  # 0 is Version Negotiation, which has no length
        return None
    dcid, scid = reader.vector(1), reader.vector(1)
    if dcid is None or scid is None or len(dcid) > MAX_CID or len(scid) > MAX_CID:
        return None
    known = VERSIONS.get(version)
    if known is None:
        return None  # other versions lay out their packets their own way
    packet_type = (first >> 4) & 0x03
    initial = packet_type == known.initial_type
    token: bytes | None = b""
    if initial:
        token_length = reader.varint()
        token = reader.take(token_length) if token_length is not None else None
    if token is None:
        return None
    if packet_type == known.retry_type:
        return None  # Retry: no length field, and nothing of ours in it
    length = reader.varint()
    if length is None or reader.offset + length > len(data):
        return None
    header = _Header(version, initial, dcid, scid, token, start, reader.offset)
    return header, reader.offset + length


def _decrypt(data: bytes, header: _Header, end: int) -> InitialPacket | None:
    """Remove header protection and decrypt a client Initial (RFC 9001 sections 5.3, 5.4)."""
    key, iv, hp = _client_keys(header.version, header.dcid)
    sample_at = header.pn_offset + 4
    if sample_at + 16 > end:
        return None
    encryptor = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = encryptor.update(data[sample_at : sample_at + 16]) + encryptor.finalize()
    first = data[header.start] ^ (mask[0] & 0x0F)
    pn_length = (first & 0x03) + 1
    pn_bytes = bytes(
        b ^ m
        for b, m in zip(
            data[header.pn_offset : header.pn_offset + pn_length], mask[1:], strict=False
        )
    )
    # No packet has been received yet, so the truncated number is the number.
    packet_number = int.from_bytes(pn_bytes, "big")
    associated = bytes([first]) + data[header.start + 1 : header.pn_offset] + pn_bytes
    nonce = (int.from_bytes(iv, "big") ^ packet_number).to_bytes(12, "big")
    ciphertext = data[header.pn_offset + pn_length : end]
    try:
        payload = AESGCM(key).decrypt(nonce, ciphertext, associated)
    except (InvalidTag, ValueError):
        return None
    crypto = _crypto_frames(payload)
    return InitialPacket(
        header.version, header.dcid, header.scid, header.token, packet_number, crypto
    )


def _crypto_frames(payload: bytes) -> tuple[tuple[int, bytes], ...]:
    """The CRYPTO frames of an Initial's payload (RFC 9000 section 19), in order."""
    frames: list[tuple[int, bytes]] = []
    reader = _Reader(payload, 0)
    while reader.offset < len(payload):
        kind = reader.varint()
        if kind == FRAME_PADDING:
            # Initials are padded to 1200 bytes: skip the run of zeros in one step.
            rest = payload[reader.offset :].lstrip(b"\x00")
            reader.offset = len(payload) - len(rest)
            continue
        if kind == FRAME_PING:
            continue
        if kind == FRAME_CRYPTO:
            offset, length = reader.varint(), reader.varint()
            data = reader.take(length) if length is not None else None
            if offset is None or data is None:
                break
            frames.append((offset, data))
        elif kind in (FRAME_ACK, FRAME_ACK_ECN):
            if not _skip_ack(reader, ecn=kind == FRAME_ACK_ECN):
                break
        elif kind == FRAME_CLOSE:
            code, frame_type, length = reader.varint(), reader.varint(), reader.varint()
            if code is None or frame_type is None or length is None or reader.take(length) is None:
                break
        else:
            break  # not allowed in an Initial (RFC 9000 section 12.4), or garbage
    return tuple(frames)


def _skip_ack(reader: _Reader, *, ecn: bool) -> bool:
    fields = [reader.varint() for _ in range(3)]  # largest, delay, range count
    if None in fields or reader.varint() is None:  # first range
        return False
    count = fields[2] or 0
    if count > len(reader.data):
        return False
    gaps_and_lengths = 2 * count + (3 if ecn else 0)
    return all(reader.varint() is not None for _ in range(gaps_and_lengths))


# --- keys ------------------------------------------------------------------

_KEY_CACHE: dict[tuple[int, bytes], tuple[bytes, bytes, bytes]] = {}
_KEY_CACHE_SIZE = 4096


def _client_keys(version: int, dcid: bytes) -> tuple[bytes, bytes, bytes]:
    """AEAD key, IV and header protection key of a client's Initials."""
    cached = _KEY_CACHE.get((version, dcid))
    if cached is not None:
        return cached
    known = VERSIONS[version]
    initial_secret = _hkdf_extract(known.salt, dcid)
    secret = _expand_label(initial_secret, "client in", 32)
    keys = (
        _expand_label(secret, known.label_prefix + "key", 16),
        _expand_label(secret, known.label_prefix + "iv", 12),
        _expand_label(secret, known.label_prefix + "hp", 16),
    )
    if len(_KEY_CACHE) >= _KEY_CACHE_SIZE:
        _KEY_CACHE.clear()
    _KEY_CACHE[(version, dcid)] = keys
    return keys


def _hkdf_extract(salt: bytes, key_material: bytes) -> bytes:
    mac = hmac.HMAC(salt, hashes.SHA256())
    mac.update(key_material)
    return mac.finalize()


def _expand_label(secret: bytes, label: str, length: int) -> bytes:
    """HKDF-Expand-Label with an empty context (RFC 8446 section 7.1)."""
    full = b"tls13 " + label.encode("ascii")
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


# --- reading ---------------------------------------------------------------


class _Reader:
    """Bounds-checked reads; None instead of an exception when bytes run out."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.offset = offset

    def take(self, n: int) -> bytes | None:
        if n < 0 or self.offset + n > len(self.data):
            return None
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def byte(self) -> int | None:
        chunk = self.take(1)
        return chunk[0] if chunk else None

    def uint(self, n: int) -> int | None:
        chunk = self.take(n)
        return int.from_bytes(chunk, "big") if chunk is not None else None

    def vector(self, length_bytes: int) -> bytes | None:
        length = self.uint(length_bytes)
        return self.take(length) if length is not None else None

    def varint(self) -> int | None:
        """A variable-length integer (RFC 9000 section 16)."""
        first = self.byte()
        if first is None:
            return None
        size = 1 << (first >> 6)
        rest = self.take(size - 1)
        if rest is None:
            return None
        return int.from_bytes(bytes([first & 0x3F]) + rest, "big")
