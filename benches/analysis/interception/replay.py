"""Decrypted messages through the analyzer's stream seam, as a TLS-intercepting proxy would
hand them on (:mod:`benches.analysis.network.streams`: ``FlowInfo.decrypted``).

Each exchange the interceptor saw (one mitmproxy flow: a request, its response, and the
WebSocket messages after a 101) becomes a :class:`~benches.analysis.inspection.FlowInspection`
whose two streams get the messages as HTTP/1.1 bytes: the start line, the header fields
as the interceptor gave them, and the body as sent (still content-encoded), framed by a
``Content-Length`` the bench writes (the sender's own framing fields are kept, renamed,
so they are searched too). So the HTTP/1 reader, the content decoders, MIME, protobuf,
the WebSocket reader and the decode budget all apply as to a cleartext stream, with the
same notes. WebSocket messages (which mitmproxy hands on whole, inflated) are written as
one masked frame each, so the WebSocket reader reads them as messages. HTTP/2 and
HTTP/3 messages are written as HTTP/1.1 too: their chain says which they were.

An exchange is closed when its response is read (unless it switched to WebSocket); at
most :data:`MAX_OPEN` wait for theirs. Every exchange of one connection draws on one
flow budget. Matches keep the inspection's sources; :func:`chain_source` turns them into
the interception's chain ("tls+h2+gzip").
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from benches.analysis.detection.scanner import Scanner
from benches.analysis.inspection import HTTP_BODY, INTERCEPTED, FlowInspection, Inspector
from benches.analysis.interception.records import (
    HTTP_VERSIONS,
    REQUEST,
    Address,
    Message,
    WebSocketMessage,
)
from benches.analysis.network.streams import FlowInfo
from benches.analysis.protocols.budget import DecodeBudget, FlowBudget
from benches.analysis.protocols.http import HttpLimits
from benches.analysis.protocols.notes import FlowNote
from benches.analysis.protocols.websocket import WEBSOCKET

LIMITS = HttpLimits()  # what the inspection's HTTP/1 reader reads of one message
MAX_OPEN = 1024  # exchanges waiting for their response (closed oldest first past it)
_FRAMING = {"content-length", "transfer-encoding"}
_NO_BODY = (204, 304)
# A method the HTTP/1 reader would not sync on, or one whose message (or its response)
# it reads without a body or as the start of a tunnel: written as POST, said in a header.
_PLAIN_METHOD = re.compile(r"[A-Z][A-Z_-]{1,19}")
_METHODS_WITHOUT_BODY = frozenset({"HEAD", "CONNECT", "PRI"})
_MASK = b"\x80\x80\x80\x80"  # ASCII masked stays out of ASCII: nothing spells a digit
_CONTROL = bytes(range(0x21)) + b"\x7f"
# A switch to WebSocket the file did not show, written by the bench (no identifier in it).
_BARE_UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: websocket.invalid\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n"
)
_BARE_SWITCH = b"HTTP/1.1 101 \r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

Connection = tuple[Address, Address]
# (connection, frame, time) -> the frame its bytes are said to come from
FrameOf = Callable[[Connection, float], int]


@dataclass
class _Exchange:
    inspection: FlowInspection
    offsets: list[int] = field(default_factory=lambda: [0, 0])  # to_server, to_client
    switched: bool = False


class Replay:
    """One intercepted.jsonl's messages, searched: ``inspector.matches`` index ``exchanges``."""

    def __init__(
        self, scanner: Scanner, budget: DecodeBudget, name: str, frame_of: FrameOf
    ) -> None:
        self.inspector = Inspector(scanner)
        self.inspector.new_capture(budget)
        self.name = name  # the file's, on each FlowInfo
        self.frame_of = frame_of
        self.open: OrderedDict[str, _Exchange] = OrderedDict()
        self.budgets: dict[Connection, FlowBudget] = {}
        # per inspection index: its connection and how it was carried ("h1", "h2", "h3")
        self.connections: list[Connection] = []
        self.carriers: list[str] = []
        self.notes: dict[int, list[FlowNote]] = {}  # what the readers could not read
        self.hosts: dict[int, str] = {}  # the Host of an exchange's request

    def message(self, message: Message) -> str | None:
        """Hand the message on; what the HTTP/1 reader cannot read whole of it (a header
        block or a body past its limits), in words, for a note that fails closed: on the
        wire that is one more decoder giving up, here it would hide a decrypted body."""
        connection = (message.client, message.server)
        exchange = self.open.get(message.flow)
        if exchange is None or (message.kind == REQUEST and exchange.offsets[0]):
            if exchange is not None:
                self._close(message.flow)
            exchange = self._open(message.flow, connection, HTTP_VERSIONS[message.http_version])
        frame = self.frame_of(connection, message.time)
        to_server = message.kind == REQUEST
        head, body = _http1(message)
        self._send(exchange, to_server, head + body, frame, message.time)
        if not to_server:
            if message.status == 101 and exchange.inspection.websocket is not None:
                exchange.switched = True
            else:
                self._close(message.flow)
        if len(head) > LIMITS.max_head:
            return (
                f"an HTTP {message.kind}'s header block is over {LIMITS.max_head:,} bytes:"
                " its body was searched as sent only, never decoded"
            )
        if len(body) > LIMITS.max_body:
            return (
                f"an HTTP {message.kind}'s body is over {LIMITS.max_body:,} bytes: what lay"
                " past that was never decoded"
            )
        return None

    def websocket(self, message: WebSocketMessage) -> bool:
        """A WebSocket message, read as a frame after its exchange's switch. True when the
        file did not show that switch (the connection began before the cycle's window, or
        the 101 is missing): the bench then writes a bare one, so the message is read all
        the same, and the caller says so on the flow."""
        connection = (message.client, message.server)
        frame = self.frame_of(connection, message.time)
        exchange = self.open.get(message.flow)
        assumed = exchange is None or not exchange.switched
        if exchange is None or assumed:
            if exchange is not None:
                self._close(message.flow)
            exchange = self._open(message.flow, connection, "ws")
            self._send(exchange, True, _BARE_UPGRADE, frame, message.time)
            self._send(exchange, False, _BARE_SWITCH, frame, message.time)
            exchange.switched = True
        data = _frame(message.content, text=message.text)
        self._send(exchange, message.from_client, data, frame, message.time)
        return assumed

    def finish(self) -> None:
        for flow in list(self.open):
            self._close(flow)
        self.inspector.search_datagrams()

    # --- inside ---------------------------------------------------------------

    def _open(self, flow: str, connection: Connection, carrier: str) -> _Exchange:
        while len(self.open) >= MAX_OPEN:
            self._close(next(iter(self.open)))
        (client_ip, client_port), (server_ip, server_port) = connection
        info = FlowInfo(self.name, "tcp", client_ip, client_port, server_ip, server_port, True)
        # Not through Inspector.open: its list would keep every exchange's inspection.
        inspection = FlowInspection(self.inspector, len(self.connections), info)
        budget = self.budgets.get(connection)
        if budget is None:
            budget = self.budgets[connection] = self.inspector.budget.flow()
        inspection.budget = budget
        self.connections.append(connection)
        self.carriers.append(carrier)
        exchange = self.open[flow] = _Exchange(inspection)
        return exchange

    def _send(
        self, exchange: _Exchange, to_server: bool, data: bytes, frame: int, time: float
    ) -> None:
        if not data:
            return
        side = 0 if to_server else 1
        inspection = exchange.inspection
        stream = inspection.to_server if to_server else inspection.to_client
        stream.data(exchange.offsets[side], data, frame, time)
        exchange.offsets[side] += len(data)

    def _close(self, flow: str) -> None:
        exchange = self.open.pop(flow)
        inspection = exchange.inspection
        inspection.to_server.close()
        inspection.to_client.close()
        inspection.close()
        facts = inspection.facts
        if facts.notes:
            self.notes.setdefault(inspection.index, []).extend(facts.notes)
        if facts.http is not None and facts.http.host:
            self.hosts.setdefault(inspection.index, facts.http.host)
        inspection.release()


def chain_source(source: str, carrier: str) -> str:
    """An inspection match's source as a chain through the interceptor: the body as sent
    ("stream") is "tls+h2", a decoded body ("http:gzip") "tls+h2+gzip", a WebSocket
    message ("websocket+sniffed-gzip") "tls+ws+sniffed-gzip". RawMatch.encoding adds the
    detector's own spelling: "tls+h2+gzip+plain"."""
    if source.startswith(WEBSOCKET):
        return f"{INTERCEPTED}ws{source[len(WEBSOCKET) :]}"
    if source.startswith(HTTP_BODY):
        return f"{INTERCEPTED}{carrier}+{source[len(HTTP_BODY) :]}"
    return f"{INTERCEPTED}{carrier}"


def _http1(message: Message) -> tuple[bytes, bytes]:
    """The message as HTTP/1.1 bytes, framed by the body's own length: head, body."""
    sent: list[tuple[str, str]] = []  # start-line parts the bench could not write as sent
    if message.kind == REQUEST:
        target = _field(_clean(message.path or "/"))
        method = message.method
        if not _PLAIN_METHOD.fullmatch(method) or method in _METHODS_WITHOUT_BODY:
            sent.append(("X-Sent-Method", method))  # read as a POST: its body is read
            method = "POST"
        start = b"%s %s HTTP/1.1\r\n" % (method.encode(), target)
    else:
        status = message.status or 200
        if message.content and (status < 200 or status in _NO_BODY) and status != 101:
            sent.append(("X-Sent-Status", str(status)))  # a body where none may be: read it
            status = 200
        start = b"HTTP/1.1 %d \r\n" % status
    lines = [start, *(b"%s: %s\r\n" % (_field(n), _field(v)) for n, v in sent)]
    names = {name.lower() for name, _ in message.headers}
    if message.kind == REQUEST and "host" not in names and message.host:
        lines.append(b"Host: %s\r\n" % _field(message.host))
    for name, value in message.headers:
        if name.lower() in _FRAMING:
            name = "X-Sent-" + name  # still searched; the bench frames the body itself
        lines.append(b"%s: %s\r\n" % (_field(name), _field(value)))
    body = message.content
    if body or message.kind == REQUEST or message.status not in (*_NO_BODY, 101):
        lines.append(b"Content-Length: %d\r\n" % len(body))
    lines.append(b"\r\n")
    return b"".join(lines), body


def _field(text: str) -> bytes:
    """A header's name or value as bytes, a line break in it made a space (it would end
    the field): what mitmproxy could not decode as UTF-8 came as surrogates."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        data = text.encode("utf-8", "replace")
    return data.replace(b"\r", b" ").replace(b"\n", b" ").replace(b"\0", b" ")


def _clean(text: str) -> str:
    """A start line's part: no space or control character (they would break the line)."""
    return "".join(f"%{ord(c):02X}" if c in _CONTROL_TEXT else c for c in text)


_CONTROL_TEXT = frozenset(_CONTROL.decode("latin-1"))


def _frame(payload: bytes, *, text: bool) -> bytes:
    """One final WebSocket frame holding the whole message, masked."""
    head = bytearray([0x81 if text else 0x82])
    size = len(payload)
    if size < 126:
        head.append(0x80 | size)
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return bytes(head) + _MASK + payload.translate(_MASKED)


_MASKED = bytes(b ^ 0x80 for b in range(256))
