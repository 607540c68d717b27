"""QUIC client Initials sealed here, as a client seals them (RFC 9001 sections 5.3, 5.4),
and Google QUIC client packets built here (Chromium's wire format).

The salts are typed here from the specifications (RFC 9001 section 5.2, RFC 9369
section 3.3.1, draft-ietf-quic-tls-23 and -29 section 5.2) and from Chromium's
quic_crypto_utils for Google's Q050 and T051, not taken from the analyzer's table.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from benches.analysis.protocols.quic import QUIC_V1, QUIC_V2, ClientInitials, QuicInitial
from tests.support.pcaps import client_hello

DRAFT_27, DRAFT_29 = 0xFF00001B, 0xFF00001D
Q043, Q046, Q050, T051 = 0x51303433, 0x51303436, 0x51303530, 0x54303531
SALTS = {
    QUIC_V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    QUIC_V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
    DRAFT_27: bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502"),  # drafts 23-28
    DRAFT_29: bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"),
    Q050: bytes.fromhex("504574efd066fe2f9d945cfcdbd3a7f0d3b56b45"),
    T051: bytes.fromhex("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d"),
}


def parse_initial(datagram: bytes) -> QuicInitial | None:
    """The client Initial(s) of one UDP datagram, or None if it holds none: what the
    analyzer's collector (ClientInitials) makes of that datagram alone."""
    collector = ClientInitials()
    collector.add(datagram)
    return collector.result()


def initial_sni(datagram: bytes) -> str | None:
    """The SNI in a datagram's client Initial(s), or None."""
    initial = parse_initial(datagram)
    return initial.sni if initial else None


def varint(value: int) -> bytes:
    for prefix, size in ((0, 1), (1, 2), (2, 4), (3, 8)):
        if value < 1 << (8 * size - 2):
            return ((prefix << (8 * size - 2)) | value).to_bytes(size, "big")
    raise ValueError(value)


def crypto_frame(offset: int, data: bytes) -> bytes:
    return b"\x06" + varint(offset) + varint(len(data)) + data


def google_crypto_frame(offset: int, data: bytes) -> bytes:
    """Google's CRYPTO frame in Q050/T05x Initials: type 0x08, then as IETF's."""
    return b"\x08" + varint(offset) + varint(len(data)) + data


def hello_message(sni: str | None) -> bytes:
    return client_hello(sni)[5:]  # without the TLS record header, as QUIC carries it


def _label(secret: bytes, label: str, length: int) -> bytes:
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def seal_initial(
    frames: bytes,
    dcid: bytes,
    *,
    scid: bytes = b"\x01\x02\x03\x04",
    token: bytes = b"",
    packet_number: int = 0,
    pn_length: int = 2,
    version: int = QUIC_V1,
    secret_label: str = "client in",
    size: int = 1200,
    key_dcid: bytes | None = None,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt and protect an Initial as a client would (RFC 9001 sections 5.3, 5.4).

    A server's Initial: ``secret_label="server in"`` and ``key_dcid`` the client's
    first Destination Connection ID (its keys' input), ``dcid`` the client's source ID.
    """
    mac = hmac.HMAC(salt if salt is not None else SALTS[version], hashes.SHA256())
    mac.update(dcid if key_dcid is None else key_dcid)
    secret = _label(mac.finalize(), secret_label, 32)
    prefix = "quicv2 " if version == QUIC_V2 else "quic "
    key, iv, hp = (_label(secret, prefix + n, s) for n, s in (("key", 16), ("iv", 12), ("hp", 16)))
    packet_type = 1 if version == QUIC_V2 else 0
    first = 0xC0 | (packet_type << 4) | (pn_length - 1)
    before_length = (
        bytes([first])
        + version.to_bytes(4, "big")
        + bytes([len(dcid)])
        + dcid
        + bytes([len(scid)])
        + scid
        + varint(len(token))
        + token
    )
    overhead = len(before_length) + 2 + pn_length + 16
    payload = frames + bytes(max(size - overhead - len(frames), 20 - pn_length - len(frames), 0))
    length = (pn_length + len(payload) + 16) | 0x4000  # always the two-byte varint form
    header = before_length + length.to_bytes(2, "big") + packet_number.to_bytes(pn_length, "big")
    nonce = (int.from_bytes(iv, "big") ^ packet_number).to_bytes(12, "big")
    ciphertext = AESGCM(key).encrypt(nonce, payload, header)
    sample = ciphertext[4 - pn_length : 20 - pn_length]
    encryptor = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = encryptor.update(sample) + encryptor.finalize()
    protected = bytearray(header)
    protected[0] ^= mask[0] & 0x0F
    pn_at = len(header) - pn_length
    for i in range(pn_length):
        protected[pn_at + i] ^= mask[1 + i]
    return bytes(protected) + ciphertext


# --- Google QUIC (cleartext CHLO) -------------------------------------------------


def chlo(sni: str | None, user_agent: str = "Chrome/83.0 Android 10", pad: int = 400) -> bytes:
    """A CHLO handshake message: tag, tag count, then (tag, end offset) pairs sorted by
    tag, then the values; integers little-endian (Chromium's CryptoFramer)."""
    values = {b"PAD\x00": b"-" * pad, b"VER\x00": b"Q043", b"UAID": user_agent.encode()}
    if sni is not None:
        values[b"SNI\x00"] = sni.encode()
    tags = sorted(values, key=lambda tag: int.from_bytes(tag, "little"))
    table, body = b"", b""
    for tag in tags:
        body += values[tag]
        table += tag + len(body).to_bytes(4, "little")
    return b"CHLO" + len(tags).to_bytes(2, "little") + b"\x00\x00" + table + body


def _google_stream_frame(message: bytes) -> bytes:
    """A STREAM frame on stream 1 (the crypto stream): 0xa0 = stream, with a 2-byte
    data length, no offset, a 1-byte stream ID; lengths big-endian from Q039."""
    return b"\xa0\x01" + len(message).to_bytes(2, "big") + message


def google_q043_packet(cid: bytes, message: bytes, *, size: int = 1350) -> bytes:
    """A Q043 client packet: public flags 0x09 (version, 8-byte connection ID), the
    connection ID, "Q043", a 1-byte packet number, a 12-byte hash, then frames."""
    packet = b"\x09" + cid + b"Q043" + b"\x01" + bytes(12) + _google_stream_frame(message)
    return packet + bytes(max(size - len(packet), 0))  # a PADDING frame to the end


def google_q046_packet(cid: bytes, message: bytes, *, size: int = 1350) -> bytes:
    """A Q046 client packet: an IETF-style long header (0xc3: Initial, 4-byte packet
    number), "Q046", 0x50 (an 8-byte destination ID, no source ID), the ID, the
    packet number, a 12-byte hash, then Q043's frames."""
    packet = b"\xc3Q046\x50" + cid + (1).to_bytes(4, "big") + bytes(12)
    packet += _google_stream_frame(message)
    return packet + bytes(max(size - len(packet), 0))
