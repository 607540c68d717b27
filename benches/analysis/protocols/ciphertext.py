"""Which bytes on the wire are ciphertext: TLS application data and QUIC 1-RTT packets.

Ciphertext cannot spell an identifier, so the detector need not search it;
it is most of the bytes a phone sends and receives. Everything else is still
searched: TLS record headers, the handshake (ClientHello with its SNI,
ServerHello, certificates up to TLS 1.2), alerts, any record of a session
whose cipher is not known to encrypt, QUIC long-header packets (the Initials)
and the first bytes of every short-header packet, which hold its connection ID.

The TLS rules (:class:`RecordLayer`), each one failing closed (when in doubt,
the bytes are searched):

- The stream must be read from its first byte, record by record. A header
  that is not TLS (content type, version 3.x, length at most 2^14 + 2048), or
  a gap, ends the skipping for the rest of the stream.
- Only application-data records (content type 23) are skipped, and only
  once the server's first record held a ServerHello whose cipher suite is
  one of :data:`ENCRYPTING_SUITES`. A NULL or integrity-only suite (RFC 9150),
  an unknown one, or a first record that ends before its cipher suite keeps
  every byte searched. Early data sent before the ServerHello is searched
  too.
- Bytes from a TLS-intercepting proxy are plaintext: the caller never skips
  in a decrypted flow.

QUIC (:class:`QuicConnection`): a short-header packet is a 1-RTT packet: after
its first byte and destination connection ID, the packet number is
header-protected and the payload is AEAD ciphertext (RFC 9001 section 5). Only
the first :data:`QUIC_SHORT_HEADER` bytes of one are searched, and a datagram
counts as one only when the flow's handshake says it can: the client's Initial
was read, the server answered it, and the datagram carries a connection ID that
side chose. Every other datagram is searched whole.
"""

from __future__ import annotations

import struct

from benches.analysis.protocols.quic import MAX_CID, decrypt_initials, long_header

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT = 20, 21, 22, 23, 24
RECORD_TYPES = frozenset({CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT})
HEADER = 5
MAX_RECORD = (1 << 14) + 2048  # TLSCiphertext.length at most (RFC 5246 section 6.2.3)
SERVER_HELLO = 2
# A ServerHello's cipher suite: after its type (1), length (3), version (2), random (32),
# session id length (1) and a session id of at most 32 bytes.
MAX_SUITE_END = 4 + 2 + 32 + 1 + 32 + 2

# Cipher suites whose records are encrypted (IANA TLS Cipher Suites registry): the
# AEAD and CBC suites of TLS 1.2 and earlier in common use, and TLS 1.3's five.
ENCRYPTING_SUITES = frozenset(
    {
        0x1301, 0x1302, 0x1303, 0x1304, 0x1305,  # TLS 1.3: AES-GCM, ChaCha20, AES-CCM
        0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9, 0xCCAA,  # ECDHE / DHE AEAD
        0x009C, 0x009D, 0x009E, 0x009F, 0x00A2, 0x00A3,  # RSA / DHE AES-GCM
        0xC09C, 0xC09D, 0xC09E, 0xC09F, 0xC0AC, 0xC0AD, 0xC0AE, 0xC0AF,  # AES-CCM
        0xC009, 0xC00A, 0xC013, 0xC014, 0xC023, 0xC024, 0xC027, 0xC028,  # ECDHE AES-CBC
        0x002F, 0x0035, 0x003C, 0x003D, 0x0033, 0x0039, 0x0067, 0x006B,  # RSA / DHE AES-CBC
        0x000A, 0x0016,  # 3DES
    }
)  # fmt: skip

_header = struct.Struct("!BBBH").unpack_from

# Spans [start, end) of a chunk that are ciphertext.
Spans = list[tuple[int, int]]


class TlsSession:
    """What both directions of one TLS connection share: does its cipher encrypt."""

    __slots__ = ("encrypted",)

    def __init__(self) -> None:
        self.encrypted = False  # the ServerHello chose one of ENCRYPTING_SUITES


class RecordLayer:
    """One direction of a TLS stream, followed record by record from its first byte."""

    __slots__ = ("session", "server", "left", "skip", "head", "hello", "records", "broken")

    def __init__(self, session: TlsSession, server: bool) -> None:
        self.session = session
        self.server = server  # the server's direction: its first record holds the ServerHello
        self.left = 0  # payload bytes of the current record still to come
        self.skip = False  # the current record's payload is ciphertext
        self.head = b""  # the start of a record header the last chunk cut
        self.hello: bytes | None = None  # the server's first record so far, until it decides
        self.records = 0  # record headers read
        self.broken = False  # the framing was lost: nothing more is skipped

    def break_off(self) -> None:
        """A gap: where the next record begins is no longer known."""
        self.broken = True

    def skips(self, size: int) -> bool:
        """Whether the next ``size`` bytes all lie inside the current record and it is
        ciphertext; if so, they are taken as read. The common case, checked cheaply:
        what :meth:`ciphertext` would give as one span covering all of them."""
        if self.skip and self.left >= size and not self.broken:
            self.left -= size
            return True
        return False

    def one_record(self, chunk: bytes) -> bool:
        """Whether ``chunk`` starts with the header of a record of ciphertext that holds
        all the rest of it (a download's usual segment); if so, it is taken as read. The
        common case, checked cheaply: what :meth:`ciphertext` would give as the one
        span ``(HEADER, len(chunk))``."""
        if self.left or self.head or self.broken or len(chunk) <= HEADER:
            return False
        kind, major, minor, length = _header(chunk, 0)
        if (
            kind != APPLICATION_DATA
            or not self.session.encrypted
            or major != 3
            or minor > 4
            or length > MAX_RECORD
            or length < len(chunk) - HEADER
        ):
            return False
        self.left = length - (len(chunk) - HEADER)
        self.skip = True
        self.records += 1
        return True

    def ciphertext(self, chunk: bytes) -> Spans:
        """The spans of the next ``chunk`` of the stream that are ciphertext (may be none)."""
        if self.broken:
            return []
        spans: Spans = []
        size = len(chunk)
        at = 0
        if self.left:
            at = min(self.left, size)
            self.left -= at
            if self.skip:
                spans.append((0, at))
            elif self.hello is not None:
                self._read_hello(chunk[:at])
        while at < size:
            if self.head or size - at < HEADER:
                need = HEADER - len(self.head)
                header = self.head + chunk[at : at + need]
                at = min(at + need, size)
                if len(header) < HEADER:
                    self.head = header
                    break
                self.head = b""
                kind, major, minor, length = _header(header)
            else:
                kind, major, minor, length = _header(chunk, at)
                at += HEADER
            if kind not in RECORD_TYPES or major != 3 or minor > 4 or length > MAX_RECORD:
                self.broken = True
                return []  # not TLS after all (or no longer): search all of it
            take = min(length, size - at)
            self.left = length - take
            if self.records == 0 and self.server and kind == HANDSHAKE:
                self.hello = b""
                self._read_hello(chunk[at : at + take])
            self.records += 1
            self.skip = kind == APPLICATION_DATA and self.session.encrypted
            if self.skip and take:
                spans.append((at, at + take))
            at += take
        return spans

    def _read_hello(self, part: bytes) -> None:
        """More of the server's first record: decide once the cipher suite is in."""
        hello = (self.hello or b"") + part
        decided = _encrypting(hello)
        if decided is None and self.left:
            self.hello = hello[:MAX_SUITE_END]
            return
        self.session.encrypted = bool(decided)
        self.hello = None


def _encrypting(payload: bytes) -> bool | None:
    """Whether ``payload`` (a first handshake record) starts with a ServerHello whose
    cipher suite encrypts; None while too little of it is known."""
    if payload[:1] not in (b"", bytes([SERVER_HELLO])):
        return False
    if len(payload) < 4 + 2 + 32 + 1:
        return None
    session_end = 4 + 2 + 32 + 1 + payload[38]
    if session_end + 2 > MAX_SUITE_END:
        return False  # a session id longer than 32 bytes: no ServerHello
    if session_end + 2 > len(payload):
        return None
    suite = int.from_bytes(payload[session_end : session_end + 2], "big")
    return suite in ENCRYPTING_SUITES


QUIC_SHORT_HEADER = 1 + 20  # first byte and the longest connection ID (RFC 9000 section 17.3)
QUIC_MIN_SHORT = 1 + 4 + 16  # a packet number (or the rest of the sample) and its AEAD tag
MAX_QUIC_CIDS = 16  # connection IDs kept per side of a flow


class QuicConnection:
    """What both directions of one QUIC flow share: which connection IDs tie a
    short-header packet to a handshake that happened.

    A short-header (1-RTT) packet is ciphertext after its first byte and connection
    ID, but "short header" is only a first byte in 0x40-0x7F: a letter, a ``{``. So
    a datagram counts as one only when the flow's state says it can be one:

    - the client's Initial was read (:meth:`client_initial`: its version and Source
      Connection ID), and the server answered with a long-header packet (Initial,
      Handshake, Retry) of that version addressed to that ID
      (:meth:`searched` learns the server's Source Connection ID from it);
    - a client's short header starts with an ID the server chose; a server's with an
      ID the client chose (an empty one, as Chrome's, ties nothing but the server's
      long-header answer: the server's side, not the phone's);
    - it is long enough for a packet number and an AEAD tag.

    The fixed bit (0x40) is not required where a connection ID ties the packet: a
    peer that was told it may grease that bit (RFC 9287) clears it in any packet.

    Anything else (a new connection ID from an encrypted NEW_CONNECTION_ID frame, a
    datagram that is not QUIC at all) is searched whole: a false alarm on ciphertext
    is visible, a missed leak is not.
    """

    __slots__ = ("version", "client_cids", "server_cids", "client_lengths", "server_lengths",
                 "answered")  # fmt: skip

    def __init__(self) -> None:
        self.version: int | None = None  # of the client's first Initial that was read
        self.client_cids: set[bytes] = set()  # Source Connection IDs of the client's Initials
        self.server_cids: set[bytes] = set()  # Source Connection IDs of the server's answers
        self.client_lengths: tuple[int, ...] = ()  # the distinct lengths of client_cids
        self.server_lengths: tuple[int, ...] = ()  # likewise of server_cids
        self.answered = False  # the server sent a long header to the client's ID

    def client_initial(self, version: int, scid: bytes) -> None:
        """A client Initial was read (decrypted, or a cleartext Google CHLO). One of
        another version starts over: the server asked for it (Version Negotiation)."""
        if version != self.version:
            self.version, self.answered = version, False
            self.client_cids.clear()
            self.server_cids.clear()
            self.client_lengths = self.server_lengths = ()
        if len(self.client_cids) < MAX_QUIC_CIDS:
            self.client_cids.add(scid)
            self.client_lengths = _lengths(self.client_cids)

    def searched(self, datagram: bytes, from_server: bool) -> int:
        """How many bytes of a datagram of this flow may be cleartext (call it only once
        an Initial was read: ``version`` is set)."""
        first = datagram[0]
        if first & 0x80:  # a long header: searched whole (Initials, Handshake, 0-RTT)
            if from_server:
                self._answer(datagram)
            else:
                self._renegotiated(datagram)
            return len(datagram)
        size = len(datagram)
        if not self.answered:
            return size
        # Every datagram of the flow comes here: one slice and one set lookup per length
        # of the IDs the other side chose (a client uses one length), no loop over IDs.
        cids = self.client_cids if from_server else self.server_cids
        for length in self.client_lengths if from_server else self.server_lengths:
            # An empty ID ties nothing but the server's answer: only for the server's
            # packets, and only with the fixed bit set (a peer may grease it: RFC 9287).
            if (
                size >= 1 + length + QUIC_MIN_SHORT
                and datagram[1 : 1 + length] in cids
                and (length or (from_server and first & 0x40))
            ):
                return min(size, QUIC_SHORT_HEADER)
        return size

    def _renegotiated(self, datagram: bytes) -> None:
        """A client's long header of another version: after Version Negotiation the
        client starts over in a version the server listed (its reader may be done)."""
        header = long_header(datagram)
        if header is None or header.version == self.version:
            return
        for packet in decrypt_initials(datagram):
            self.client_initial(packet.version, packet.scid)

    def _answer(self, datagram: bytes) -> None:
        """A server's long header: if it answers the client's Initial, learn its ID."""
        header = long_header(datagram)
        if header is None or header.version != self.version:
            return  # Version Negotiation (version 0), another version, or no QUIC at all
        if header.dcid in self.client_cids and len(header.scid) <= MAX_CID:
            self.answered = True
            if len(self.server_cids) < MAX_QUIC_CIDS:
                self.server_cids.add(header.scid)
                self.server_lengths = _lengths(self.server_cids)


def _lengths(cids: set[bytes]) -> tuple[int, ...]:
    return tuple(sorted({len(cid) for cid in cids}))
