"""QUIC client Initials sealed here, as a client seals them (RFC 9001 sections 5.3, 5.4)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from benches.analysis.protocols.quic import QUIC_V1, QUIC_V2, ClientInitials, QuicInitial
from tests.support.pcaps import client_hello

SALTS = {
    QUIC_V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    QUIC_V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
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
) -> bytes:
    """Encrypt and protect an Initial as a client would (RFC 9001 sections 5.3, 5.4)."""
    mac = hmac.HMAC(SALTS[version], hashes.SHA256())
    mac.update(dcid)
    secret = _label(mac.finalize(), secret_label, 32)
    prefix = "quic " if version == QUIC_V1 else "quicv2 "
    key, iv, hp = (_label(secret, prefix + n, s) for n, s in (("key", 16), ("iv", 12), ("hp", 16)))
    packet_type = 0 if version == QUIC_V1 else 1
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
