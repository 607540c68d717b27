"""Protocol readers that ride on a flow's streams: DNS, the TLS ClientHello, HTTP, QUIC.

Each reader takes a stream's chunks (or datagrams) as they come, keeps only
what it needs, and records what it learned on the flow's :class:`Facts`. A
reader returns False once it has nothing more to learn, and is dropped: after
the first few packets most flows carry no reader at all.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from benches.analysis.protocols.ciphertext import QuicConnection
from benches.analysis.protocols.dns import DnsMessage, parse_dns
from benches.analysis.protocols.http import (
    HttpConversation,
    HttpMessage,
    HttpRequest,
    HttpStreamParser,
)
from benches.analysis.protocols.notes import DECODER_GAVE_UP, DECODER_RESYNC, QUIC_UNREAD, FlowNote
from benches.analysis.protocols.quic import (
    ClientInitials,
    encrypted,
    may_hold_initial,
    unread_version,
)
from benches.analysis.protocols.tls import ClientHello, parse_tls_client_hello

TLS_HANDSHAKE = 0x16
MAX_HELLO = 64 * 1024  # bytes of a client's first flight kept to read its ClientHello
MAX_RECORD = (1 << 14) + 2048  # a TLS record's length at most (RFC 5246 section 6.2.3)
MAX_DNS_TCP = 2 + 65535
QUIC_TRIES = 8  # client datagrams offered to the QUIC reader before it gives up
_record_length = struct.Struct("!H").unpack_from


@dataclass(slots=True)
class Facts:
    """What the protocol readers learned about one flow."""

    client_hello: ClientHello | None = None
    http: HttpRequest | None = None  # the first request
    quic_sni: str | None = None
    quic: bool = False
    dns: bool = False  # carried DNS messages (they went to the DnsSink)
    notes: list[FlowNote] = field(default_factory=list)  # what a reader could not read

    def note(self, kind: str, detail: str, frame: int) -> None:
        """Say on the flow what a reader could not read (once per kind and detail)."""
        note = FlowNote(kind, detail, frame)
        if all((n.kind, n.detail) != (kind, detail) for n in self.notes):
            self.notes.append(note)


class ProtocolReader:
    """Reads one direction of a flow; ``data`` and ``datagram`` return False when done."""

    __slots__ = ()

    def data(self, chunk: bytes, frame: int, time: float) -> bool:
        return False

    def datagram(self, chunk: bytes, frame: int, time: float) -> bool:
        return False

    def close(self, frame: int) -> None:
        """The stream ended: finish with what there is."""

    def gap(self, offset: int, frame: int) -> bool:
        """Bytes of the stream were never seen; the next data starts at ``offset``. False
        (the reader is dropped) unless the reader can find its footing again."""
        self.close(frame)
        return False


class TlsHello(ProtocolReader):
    """The ClientHello at the start of a client's stream, read once it is whole.

    Each chunk is walked once: the record headers already read are not read
    again (a stream of thousands of tiny records would make that quadratic).
    """

    __slots__ = ("facts", "buffer", "walk")

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.buffer = bytearray()
        self.walk = HelloWalk()

    def data(self, chunk: bytes, frame: int, time: float) -> bool:
        if not self.buffer and chunk[0] != TLS_HANDSHAKE:
            return False
        self.buffer += chunk
        if self.walk.complete(self.buffer) or len(self.buffer) >= MAX_HELLO:
            self.close(frame)
            return False
        return True

    def close(self, frame: int) -> None:
        if self.buffer:
            self.facts.client_hello = parse_tls_client_hello(bytes(self.buffer[:MAX_HELLO]))
            self.buffer = bytearray()


class HelloWalk:
    """Walks the handshake records at the start of a stream as its bytes come, to tell
    when they hold a whole first message. Where it stopped is kept: each record is
    read once (a record still coming is looked at again, its first bytes only)."""

    __slots__ = ("offset", "have", "head")

    def __init__(self) -> None:
        self.offset = 0  # where the first record not yet whole begins
        self.have = 0  # handshake bytes in the whole records before it
        self.head = b""  # the first (up to 4) handshake bytes: the message's type and length

    def complete(self, data: bytes | bytearray) -> bool:
        """Whether ``data`` (the stream so far, from its first byte) holds the first
        handshake message whole, or its handshake records ended."""
        offset, size = self.offset, len(data)
        while offset + 5 <= size:
            kind, length = data[offset], _record_length(data, offset + 3)[0]
            if kind != TLS_HANDSHAKE or not 0 < length <= MAX_RECORD:
                return True  # no handshake record the ClientHello parser would read follows
            body = offset + 5
            came = min(length, size - body)
            head = self.head
            if len(head) < 4:
                head += bytes(data[body : body + min(came, 4 - len(head))])
            if len(head) == 4 and self.have + came >= 4 + int.from_bytes(head[1:4], "big"):
                return True
            if came < length:
                break  # the rest of this record is still to come: read it again then
            self.head, self.have = head, self.have + length
            offset = body + length
        self.offset = offset
        return False


# Called with each DNS message and the frame and time of the packet that completed it.
DnsSink = Callable[[int, float, DnsMessage], None]


class DnsReader(ProtocolReader):
    """DNS messages: one per UDP datagram, or two-byte-length framed over TCP."""

    __slots__ = ("facts", "sink", "pending")

    def __init__(self, facts: Facts, sink: DnsSink) -> None:
        self.facts = facts
        self.sink = sink
        self.pending = b""

    def datagram(self, chunk: bytes, frame: int, time: float) -> bool:
        message = parse_dns(chunk)
        if message is not None:
            self.facts.dns = True
            self.sink(frame, time, message)
        return True

    def data(self, chunk: bytes, frame: int, time: float) -> bool:
        data = self.pending + chunk
        offset = 0
        while offset + 2 <= len(data):
            (length,) = struct.unpack_from("!H", data, offset)
            if offset + 2 + length > len(data):
                break
            message = parse_dns(data[offset + 2 : offset + 2 + length])
            if message is None:
                return False  # not DNS after all: stop reading
            self.facts.dns = True
            self.sink(frame, time, message)
            offset += 2 + length
        self.pending = data[offset:]
        return len(self.pending) <= MAX_DNS_TCP


# Called with each finished message and the frame that completed it.
MessageSink = Callable[[HttpMessage, int], None]
MAX_SYNC_NOTES = 8  # resync notes one HttpReader may add (each loss of sync would be one)


class HttpReader(ProtocolReader):
    """One direction of an HTTP/1.x connection, read wherever a start line lets its parser
    sync (``resync=True``): each message goes to ``sink``.

    A loss of sync is said on the flow: DECODER_RESYNC once the parser found its footing
    again, DECODER_GAVE_UP when the stream ended first; the bytes are searched raw anyway.
    Not after a CONNECT or a 101: what follows is meant not to be HTTP/1.x.
    """

    __slots__ = ("facts", "conversation", "parser", "sink", "name", "first", "notes")

    def __init__(
        self,
        facts: Facts,
        conversation: HttpConversation,
        parser: HttpStreamParser,
        sink: MessageSink,
        name: str,
        *,
        first: bool,
    ) -> None:
        self.facts = facts
        self.conversation = conversation
        self.parser = parser
        self.sink = sink
        self.name = name  # the stream's direction, for notes: "to_server"
        self.first = first  # its first request names the flow's destination (facts.http)
        self.notes = 0

    def data(self, chunk: bytes, frame: int, time: float) -> bool:
        self._take(self.parser.feed(chunk), frame)
        return self.parser.active

    def gap(self, offset: int, frame: int) -> bool:
        self._take(self.parser.gap(offset), frame)
        return self.parser.active

    def close(self, frame: int) -> None:
        parser = self.parser
        self._take(parser.finish(), frame)
        if parser.lost is not None:
            self._note(DECODER_GAVE_UP, f"{parser.lost}; no start line after it", frame)

    def _take(self, messages: list[HttpMessage], frame: int) -> None:
        for message in messages:
            if message.is_request and self.first and not message.inside and self.facts.http is None:
                self.facts.http = HttpRequest(
                    method=message.method or "",
                    target=message.target or "",
                    version=message.version,
                    host=message.host,
                )
            self.sink(message, frame)
        resynced = self.parser.resynced
        if resynced is not None:
            self.parser.resynced = None
            self._note(DECODER_RESYNC, f"{resynced}; read on from the next start line", frame)

    def _note(self, kind: str, detail: str, frame: int) -> None:
        """Say it on the flow; a few resyncs only (giving up comes once, and always says so)."""
        if self.conversation.tunnelled or (kind == DECODER_RESYNC and self.notes >= MAX_SYNC_NOTES):
            return
        self.notes += 1
        self.facts.note(kind, f"HTTP/1 {self.name}: {_reason(detail)}", frame)


def _reason(detail: str) -> str:
    """The same words for the same loss: "not HTTP/1.x after message 3 of the stream" and
    "... after message 9 ..." make one note, not two."""
    return re.sub(r"(?:after message \d+|at the start) of the stream", "after a message", detail)


def http_readers(
    facts: Facts, to_server: MessageSink, to_client: MessageSink
) -> tuple[HttpReader, HttpReader]:
    """The readers of a connection's two streams; each reads requests and responses."""
    # The inspection decodes the bodies, chunk by chunk, within the flow's budget.
    both = HttpConversation(resync=True, decode=False)
    return (
        HttpReader(facts, both, both.requests, to_server, "to_server", first=True),
        HttpReader(facts, both, both.responses, to_client, "to_client", first=False),
    )


class QuicReader(ProtocolReader):
    """The SNI in a client's QUIC Initials (which may span several datagrams) or Google
    QUIC CHLO, and the decrypted ClientHello handed to ``hello`` to be searched (once:
    when it is whole, or when the reader gives up or the flow ends with part of it).

    What it reads goes to the flow's :class:`QuicConnection` too (the version and the
    client's connection ID), which decides which later datagrams are ciphertext. A
    client datagram that looks like a QUIC Initial of a version it cannot read is said
    on the flow (:data:`QUIC_UNREAD`) unless an Initial of the flow is read after all
    (a client may open with a version that forces Version Negotiation)."""

    __slots__ = ("facts", "hello", "connection", "initials", "tries", "frame", "searched",
                 "unread")  # fmt: skip

    def __init__(
        self,
        facts: Facts,
        hello: Callable[[bytes, int], None] | None = None,
        connection: QuicConnection | None = None,
    ) -> None:
        self.facts = facts
        self.hello = hello  # (ClientHello bytes, frame that completed them)
        self.connection = connection if connection is not None else QuicConnection()
        self.initials = ClientInitials()
        self.tries = 0
        self.frame = 0  # the last datagram that held an Initial
        self.searched = False
        self.unread: tuple[int, int] | None = None  # (version, frame) of an unread Initial

    def datagram(self, chunk: bytes, frame: int, time: float) -> bool:
        self.tries += 1
        packets = self.initials.add(chunk) if may_hold_initial(chunk) else []
        if packets:
            self.facts.quic = True
            self.frame = frame
            for packet in packets:
                self.connection.client_initial(packet.version, packet.scid)
            if self.facts.quic_sni is None:
                self.facts.quic_sni = self.initials.sni
            if self.initials.hello_complete():
                self._finish()
                return False
        elif self.unread is None:
            version = unread_version(chunk)
            if version is not None:
                self.unread = (version, frame)
        if self.tries < QUIC_TRIES:
            return True
        self._finish()
        return False

    def close(self, frame: int) -> None:
        self._finish()

    def _finish(self) -> None:
        """The ClientHello so far, to ``hello``: an identifier in it (its SNI, say) is as
        readable as cleartext, since anyone can derive the Initial's keys. A Google CHLO
        sent in cleartext was searched with its datagram already. And an Initial of a
        version that could not be read, said on the flow if none was read."""
        if self.searched:
            return
        self.searched = True
        version = self.initials.version
        if version is None and self.unread is not None:
            unread, frame = self.unread
            self.facts.note(QUIC_UNREAD, f"QUIC version 0x{unread:08x} not read", frame)
        if self.hello is None or version is None or not encrypted(version):
            return
        crypto = self.initials.crypto()
        if crypto:
            self.hello(crypto, self.frame)
