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

Versions read (:data:`VERSIONS`): 1 and 2, the IETF drafts 22 to 34 and
Facebook's mvfst versions built on them (each with its draft's salt), and
Google's Q050, T050 and T051 (IETF long headers, Google's salts, CRYPTO frames
of type 0x08; Q050 carries Google's CHLO, T05x a TLS ClientHello). A reserved
version (0x?a?a?a?a) is tried as version 1 and draft-29 seal it. Google QUIC
before Q050 sends its CHLO in cleartext: :mod:`~benches.analysis.protocols.gquic`.
:func:`unread_version` names the version of a datagram that looks like a
connection's first but is none of these.

Hostile bytes never raise: anything that does not decrypt is not an Initial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from benches.analysis.protocols import gquic
from benches.analysis.protocols.gquic import GoogleHello
from benches.analysis.protocols.tls import ClientHello, parse_client_hello_message

QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF
GOOGLE_Q050, GOOGLE_T050, GOOGLE_T051 = 0x51303530, 0x54303530, 0x54303531

TLS_HELLO, GOOGLE_CHLO = "tls", "chlo"  # what a version's CRYPTO stream carries


@dataclass(frozen=True)
class _Version:
    salt: bytes
    label_prefix: str  # "quic " or "quicv2 "
    initial_type: int  # the long header packet type of an Initial
    hello: str = TLS_HELLO  # a TLS ClientHello, or Google's CHLO handshake message
    crypto_type: int = 0x06  # the frame type of CRYPTO frames (0x08 in Google's versions)

    @property
    def retry_type(self) -> int:
        return (self.initial_type + 3) % 4  # 3 in v1, 0 in v2


# Initial salts: RFC 9001 section 5.2, RFC 9369 section 3.3.1, the drafts'
# section 5.2 (draft-ietf-quic-tls-22, -23 and -29), and Google's own for Q050, T050
# and T051 (as Wireshark's packet-quic.c and Chromium's quic_crypto_utils derive them).
_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
_SALT_V2 = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")
_SALT_DRAFT_22 = bytes.fromhex("7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a")
_SALT_DRAFT_23 = bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502")  # drafts 23-28
_SALT_DRAFT_29 = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")  # drafts 29-32
_SALT_Q050 = bytes.fromhex("504574efd066fe2f9d945cfcdbd3a7f0d3b56b45")
_SALT_T050 = bytes.fromhex("7ff579e5acd072915580304c43a2367c60488310")
_SALT_T051 = bytes.fromhex("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d")


def _draft_salt(draft: int) -> bytes:
    if draft <= 22:
        return _SALT_DRAFT_22
    if draft <= 28:
        return _SALT_DRAFT_23
    if draft <= 32:
        return _SALT_DRAFT_29
    return _SALT_V1  # drafts 33 and 34 used the final salt


VERSIONS = {
    QUIC_V1: _Version(_SALT_V1, "quic ", 0),
    QUIC_V2: _Version(_SALT_V2, "quicv2 ", 1),  # RFC 9369: its own labels and packet types
    # IETF drafts 22 to 34 (0xff0000NN): the invariant header of version 1 and its frames
    **{0xFF000000 | d: _Version(_draft_salt(d), "quic ", 0) for d in range(22, 35)},
    # Facebook's mvfst: draft-22, draft-27 and its experimental version (draft-27 based)
    0xFACEB001: _Version(_SALT_DRAFT_22, "quic ", 0),
    0xFACEB002: _Version(_SALT_DRAFT_23, "quic ", 0),
    0xFACEB00E: _Version(_SALT_DRAFT_23, "quic ", 0),
    # Google QUIC with IETF long headers and encrypted Initials: Q050 carries the CHLO,
    # T050 and T051 a TLS ClientHello, in CRYPTO frames of Google's type 0x08
    GOOGLE_Q050: _Version(_SALT_Q050, "quic ", 0, GOOGLE_CHLO, 0x08),
    GOOGLE_T050: _Version(_SALT_T050, "quic ", 0, TLS_HELLO, 0x08),
    GOOGLE_T051: _Version(_SALT_T051, "quic ", 0, TLS_HELLO, 0x08),
}

_KNOWN_TAGS = frozenset(v.to_bytes(4, "big") for v in VERSIONS)
GREASE_MASK, GREASE = 0x0F0F0F0F, 0x0A0A0A0A  # 0x?a?a?a?a (RFC 9000 section 15)


def version_params(version: int) -> _Version | None:
    """How a version's Initials are sealed (the first way to try), or None if this
    module cannot read them."""
    candidates = _sealings(version)
    return candidates[0] if candidates else None


def _sealings(version: int) -> tuple[_Version, ...]:
    """The ways a version's Initials may be sealed. A client may open with a reserved
    version (0x?a?a?a?a) to exercise Version Negotiation and still send its
    ClientHello in it, sealed as version 1 or draft-29 seals it (QUIC interop
    runners do; Wireshark reads them so): both are tried, the AEAD tag decides."""
    known = VERSIONS.get(version)
    if known is not None:
        return (known,)
    if version & GREASE_MASK == GREASE:
        return (VERSIONS[QUIC_V1], VERSIONS[0xFF00001D])
    return ()


MAX_CID = 20  # RFC 9000 section 17.2 for versions 1 and 2
MAX_CRYPTO = 64 * 1024  # CRYPTO bytes kept per connection; a ClientHello is far smaller
FRAME_PADDING, FRAME_PING, FRAME_ACK, FRAME_ACK_ECN = 0x00, 0x01, 0x02, 0x03
FRAME_CRYPTO, FRAME_CLOSE = 0x06, 0x1C
GOOGLE_PING, GOOGLE_CRYPTO = 0x07, 0x08  # Google's frame types in Q050/T05x Initials


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
    google_hello: GoogleHello | None = None  # Google QUIC's CHLO instead of a ClientHello

    @property
    def sni(self) -> str | None:
        if self.google_hello is not None:
            return self.google_hello.sni
        return self.client_hello.sni if self.client_hello else None


def decrypt_initials(datagram: bytes, first_dcid: bytes | None = None) -> list[InitialPacket]:
    """Every client Initial that decrypts in a datagram, in order.

    Initial keys come from the client's first Destination Connection ID (RFC 9001
    section 5.2): once the server has answered, the client's later Initials go to the
    ID the server chose but are still sealed with the first ID's keys. So an Initial
    that does not open with its own DCID's keys is tried with ``first_dcid``'s, and is
    then reported under ``first_dcid``, the connection it belongs to."""
    packets: list[InitialPacket] = []
    offset = 0
    try:
        while offset < len(datagram):
            parsed = _long_header(datagram, offset)
            if parsed is None:
                break  # a short header packet, or garbage: the rest of the datagram
            header, end = parsed
            if header.initial:
                packet = _decrypt(datagram, header, end, header.dcid)
                if packet is None and first_dcid is not None and first_dcid != header.dcid:
                    packet = _decrypt(datagram, header, end, first_dcid)
                if packet is not None:
                    packets.append(packet)
            offset = end
    except Exception:  # defensive: hostile bytes must never stop the analysis
        return packets
    return packets


def client_packets(datagram: bytes, first_dcid: bytes | None = None) -> list[InitialPacket]:
    """A datagram's client Initials that decrypt, or its cleartext Google QUIC packet.

    ``first_dcid``: the connection's first Destination Connection ID, whose keys the
    client keeps using for its Initials after the server chose a new ID."""
    packets = decrypt_initials(datagram, first_dcid)
    if packets:
        return packets
    google = gquic.cleartext_packet(datagram)
    if google is None:
        return []
    return [InitialPacket(google.version, google.cid, b"", b"", 0, google.crypto)]


def encrypted(version: int) -> bool:
    """Whether a version's client hello travels encrypted (with keys anyone can derive)."""
    return version_params(version) is not None


@dataclass
class ClientInitials:
    """The client Initials of one connection, across datagrams."""

    version: int | None = None
    dcid: bytes | None = None
    _fragments: dict[int, bytes] = field(default_factory=dict, init=False, repr=False)
    _stored: int = field(default=0, init=False, repr=False)

    def add(self, datagram: bytes) -> list[InitialPacket]:
        """Take a datagram's Initials; every one it held (none: []). Only those of the
        first connection's version and DCID add to its CRYPTO stream."""
        added = client_packets(datagram, self.dcid)
        for packet in added:
            if self.dcid is None:
                self.version, self.dcid = packet.version, packet.dcid
            elif (packet.version, packet.dcid) != (self.version, self.dcid):
                continue  # a new DCID after Retry is a new key schedule: keep the first
            for offset, data in packet.crypto:
                kept = data[: max(MAX_CRYPTO - offset, 0)]
                if kept and offset not in self._fragments and self._stored < 2 * MAX_CRYPTO:
                    self._fragments[offset] = kept
                    self._stored += len(kept)
        return added

    def crypto(self) -> bytes:
        """The CRYPTO stream from offset 0 up to its first hole. Google's crypto stream
        holds one CHLO after another (an inchoate one, then the full one after the
        server's REJ): it is read from the first CHLO there is."""
        start = 0
        if self.google:
            starts = [o for o, data in self._fragments.items() if data.startswith(gquic.CHLO)]
            start = min(starts, default=0)
        stream = bytearray()
        for offset in sorted(self._fragments):
            if offset < start:
                continue
            if offset > start + len(stream):
                break
            stream += self._fragments[offset][start + len(stream) - offset :]
        return bytes(stream)

    @property
    def google(self) -> bool:
        """Whether the hello is Google's CHLO rather than a TLS ClientHello."""
        if self.version is None:
            return False
        known = version_params(self.version)
        return known.hello == GOOGLE_CHLO if known is not None else True

    def hello_complete(self) -> bool:
        """Whether the CRYPTO stream holds a whole handshake message (the ClientHello)."""
        crypto = self.crypto()
        if self.google:
            return gquic.chlo_complete(crypto)
        return len(crypto) >= 4 and len(crypto) >= 4 + int.from_bytes(crypto[1:4], "big")

    def result(self) -> QuicInitial | None:
        if self.version is None or self.dcid is None:
            return None
        crypto = self.crypto()
        if self.google:
            return QuicInitial(self.version, self.dcid, crypto, None, gquic.parse_chlo(crypto))
        return QuicInitial(self.version, self.dcid, crypto, parse_client_hello_message(crypto))

    @property
    def sni(self) -> str | None:
        result = self.result()
        return result.sni if result else None


# --- any version ------------------------------------------------------------

MIN_INITIAL_DATAGRAM = 1200  # RFC 9000 section 14.1; Google's CHLO packets are padded too
# A client's first Destination Connection ID is unpredictable and at least 8 bytes (RFC
# 9000 section 7.2; Google's are 8). It tells a QUIC Initial from, say, a padded DNS
# query on port 443 whose ID starts with 0xC0-0xFF (its byte 5, QDCOUNT's, is 1).
MIN_FIRST_DCID = 8


@dataclass(frozen=True)
class LongHeader:
    """What every version's long header shows (RFC 8999 section 5.1)."""

    version: int
    dcid: bytes
    scid: bytes


def long_header(datagram: bytes) -> LongHeader | None:
    """The version-independent fields of a long header packet, or None. The fixed bit
    is not required: a peer may grease it (RFC 9287), as servers answering do."""
    if len(datagram) < 7 or not datagram[0] & 0x80:
        return None
    version = int.from_bytes(datagram[1:5], "big")
    dcid_end = 6 + datagram[5]
    if dcid_end >= len(datagram):
        return None
    scid_end = dcid_end + 1 + datagram[dcid_end]
    if scid_end > len(datagram):
        return None
    return LongHeader(version, datagram[6:dcid_end], datagram[dcid_end + 1 : scid_end])


def may_hold_initial(datagram: bytes) -> bool:
    """Whether a client datagram may start with an Initial this module reads: a long
    header of a known version, or a cleartext Google QUIC packet (cheap checks only)."""
    if not datagram:
        return False
    if datagram[0] & 0xC0 == 0xC0:
        tag = datagram[1:5]
        return (
            tag in _KNOWN_TAGS
            or tag == b"Q046"
            or int.from_bytes(tag, "big") & GREASE_MASK == GREASE
        )
    return gquic.public_header_version(datagram) is not None


def unread_version(datagram: bytes) -> int | None:
    """The version of a client datagram that looks like the first of a QUIC or Google
    QUIC connection (a long header with the fixed bit and a first DCID of 8 to 20
    bytes, or Google's public header with a version, in a datagram padded as
    Initials are) in a version this module cannot read; else None."""
    if len(datagram) < MIN_INITIAL_DATAGRAM:
        return None
    version = gquic.public_header_version(datagram)
    if version is None:
        if datagram[0] & 0xC0 != 0xC0:  # a client's first packet keeps its fixed bit
            return None
        header = long_header(datagram)
        if (
            header is None
            or not MIN_FIRST_DCID <= len(header.dcid) <= MAX_CID
            or len(header.scid) > MAX_CID
        ):
            if datagram[0] & 0xC0 == 0xC0 and gquic.version_number(datagram[1:5]) is not None:
                version = int.from_bytes(datagram[1:5], "big")  # Google's packed CID lengths
            else:
                return None
        else:
            version = header.version
    if version_params(version) is not None or gquic.cleartext_version(version):
        return None
    return version


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
    known = version_params(version)
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


def _decrypt(data: bytes, header: _Header, end: int, key_dcid: bytes) -> InitialPacket | None:
    """A client Initial, decrypted the first way that works with ``key_dcid``'s keys."""
    for sealing in _sealings(header.version):
        packet = _decrypt_as(data, header, end, sealing, key_dcid)
        if packet is not None:
            return packet
    return None


def _decrypt_as(
    data: bytes, header: _Header, end: int, sealing: _Version, key_dcid: bytes
) -> InitialPacket | None:
    """Remove header protection and decrypt a client Initial (RFC 9001 sections 5.3, 5.4)."""
    key, iv, hp = _client_keys(sealing, key_dcid)
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
    google = sealing.crypto_type != FRAME_CRYPTO
    crypto = _google_frames(payload) if google else _crypto_frames(payload)
    return InitialPacket(header.version, key_dcid, header.scid, header.token, packet_number, crypto)


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


def _google_frames(payload: bytes) -> tuple[tuple[int, bytes], ...]:
    """The CRYPTO frames (type 0x08) of a Q050/T050/T051 Initial's payload, in order."""
    frames: list[tuple[int, bytes]] = []
    reader = _Reader(payload, 0)
    while reader.offset < len(payload):
        kind = reader.byte()
        if kind == FRAME_PADDING:
            rest = payload[reader.offset :].lstrip(b"\x00")
            reader.offset = len(payload) - len(rest)
        elif kind == GOOGLE_PING:
            continue
        elif kind == GOOGLE_CRYPTO:
            offset, length = reader.varint(), reader.varint()
            data = reader.take(length) if length is not None else None
            if offset is None or data is None:
                break
            frames.append((offset, data))
        else:
            break  # an ACK or anything else: what came before is what there is
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

_KEY_CACHE: dict[tuple[bytes, bytes], tuple[bytes, bytes, bytes]] = {}  # (salt, DCID)
_KEY_CACHE_SIZE = 4096


def _client_keys(sealing: _Version, dcid: bytes) -> tuple[bytes, bytes, bytes]:
    """AEAD key, IV and header protection key of a client's Initials."""
    cached = _KEY_CACHE.get((sealing.salt, dcid))
    if cached is not None:
        return cached
    initial_secret = _hkdf_extract(sealing.salt, dcid)
    secret = _expand_label(initial_secret, "client in", 32)
    keys = (
        _expand_label(secret, sealing.label_prefix + "key", 16),
        _expand_label(secret, sealing.label_prefix + "iv", 12),
        _expand_label(secret, sealing.label_prefix + "hp", 16),
    )
    if len(_KEY_CACHE) >= _KEY_CACHE_SIZE:
        _KEY_CACHE.clear()
    _KEY_CACHE[(sealing.salt, dcid)] = keys
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
