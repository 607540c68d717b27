"""HTTP/1.x messages from one direction of a TCP stream, fed in any chunks.

``HttpStreamParser("request")`` reads what a client sent, ``"response"`` what
the server sent back. ``feed()`` returns the messages a chunk completed;
``finish()`` the one the end of the stream completed (a close-delimited
response) or cut short (flagged ``truncated``).

Each message carries its body as sent and every layer of its decoding
(``decoded_bodies``), labelled with the codings removed so far in the order
they were removed: ``chunked``, ``chunked+gzip``, ``br+gzip``. A detector
searches each layer and names the one that revealed an identifier.

The phone is not a friend. The parser never raises, keeps at most one message
in memory (``HttpLimits``), stops decoding at a size cap (decompression
bombs), and switches itself off on bytes that are not HTTP/1.x: the analyzer
still scans the raw stream, so nothing is lost by giving up. Or, made with
``resync=True``, it never gives up: it looks for the next request or status
line (:mod:`~benches.analysis.protocols.http_sync`) before its first message,
after one it could not follow and after a gap, reads either kind whatever the
stream's direction, and says so in ``lost`` and ``resynced``.

Responses to HEAD, and to CONNECT, look different from the rest (RFC 9112
section 6.3), so the response side needs the request methods: parse both
directions through one ``HttpConversation``, or hand the response parser a
queue of ``RequestHint``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, auto
from functools import partial

from benches.analysis.protocols.http_codings import BodyCoding, Decoded, decode_layers
from benches.analysis.protocols.http_sync import ANCHOR, MAX_LINE, Direction, StartLineSearch
from benches.analysis.protocols.tls import normalise_name

__all__ = ["Direction"]  # defined with the search for start lines, which knows both kinds

MIB = 1 << 20
MAX_PENDING_REQUESTS = 100_000  # hints kept for responses not yet seen
MAX_CHUNK_LINE = 4096  # chunk size line with its extensions
START_CHECK = 256  # bytes of a start line checked before waiting for the whole head


@dataclass(frozen=True)
class HttpRequest:
    """What the analyzer keeps of a flow's first request (to name its destination)."""

    method: str
    target: str
    version: str  # "HTTP/1.1"
    host: str | None  # Host header without port, normalised; None when absent


@dataclass(frozen=True)
class HttpLimits:
    max_head: int = 64 * 1024  # start line and header block (and trailers)
    max_body: int = 64 * MIB  # body bytes kept per message; the rest is counted, not kept
    max_decoded: int = 64 * MIB  # all decoded layers of one message together


@dataclass(frozen=True)
class RequestHint:
    """What a response needs to know about its request."""

    method: str
    host: str | None = None


class Headers(list[tuple[str, str]]):
    """Header fields in order, as (name, value); lookups ignore the name's case."""

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        return next((v for n, v in self if n.lower() == wanted), default)

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self if n.lower() == wanted]

    def tokens(self, name: str) -> list[str]:
        """The comma-separated list values of every field with that name, lower-cased."""
        return [
            t.strip().lower() for value in self.get_all(name) for t in value.split(",") if t.strip()
        ]


@dataclass
class HttpMessage:
    direction: Direction
    start: int  # stream offset of the start line's first byte
    end: int  # stream offset just past the message
    version: str  # "HTTP/1.1"
    head: bytes  # start line and header block, as sent
    headers: Headers
    method: str | None = None  # requests
    target: str | None = None
    status: int | None = None  # responses
    reason: str | None = None
    request_method: str | None = None  # a response's request, when known
    host: str | None = None  # Host (or absolute-form target); a response has its request's
    body: bytes = b""  # as sent, chunk framing included; at most HttpLimits.max_body
    trailers: Headers = field(default_factory=Headers)
    decoded_bodies: list[tuple[str, bytes]] = field(default_factory=list)
    partial_layer: tuple[str, bytes] | None = None  # output of a decoding that failed midway
    truncated: bool = False  # the stream ended, broke or overflowed before the message did
    bomb: bool = False  # decoding stopped at HttpLimits.max_decoded
    decode_error: str | None = None
    # With a parser that leaves decoding to its reader (``decode=False``): the body to
    # decode and its codings (http_codings.LayerStream decodes it chunk by chunk).
    coding: BodyCoding | None = None
    notes: list[str] = field(default_factory=list)  # why it is truncated, what was skipped
    inside: bool = False  # read inside another request's body (resync=True)

    @property
    def is_request(self) -> bool:
        return self.direction == "request"

    @property
    def interim(self) -> bool:
        """A 1xx response (100 Continue, 101 Switching Protocols, 103 Early Hints)."""
        return self.status is not None and 100 <= self.status < 200

    def layers(self) -> list[tuple[str, bytes]]:
        """Every form of the body worth searching: as sent, each decoding, a partial one."""
        layers = [("raw", self.body), *self.decoded_bodies]
        if self.partial_layer is not None:
            layers.append(self.partial_layer)
        return layers


class HttpConversation:
    """Both directions of one connection: requests tell responses which have no body."""

    def __init__(
        self, limits: HttpLimits | None = None, *, resync: bool = False, decode: bool = True
    ) -> None:
        self.pending: deque[RequestHint] = deque()
        self.requests = HttpStreamParser(
            "request", pending=self.pending, limits=limits, resync=resync, decode=decode
        )
        self.responses = HttpStreamParser(
            "response", pending=self.pending, limits=limits, resync=resync, decode=decode
        )

    @property
    def tunnelled(self) -> bool:
        """A CONNECT or a 101 turned the connection into something that is not HTTP/1.x."""
        return self.requests.tunnelled or self.responses.tunnelled


class _State(Enum):
    HEAD = auto()
    LENGTH = auto()  # Content-Length body
    CLOSE = auto()  # response body delimited by the end of the stream
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_END = auto()  # the CRLF after chunk data
    TRAILERS = auto()
    DONE = auto()  # finish() was called
    SYNC = auto()  # looking for the next start line (resync=True)


# RFC 9112 section 3 (request line) and 4 (status line); a bare LF ends a line too.
_METHOD = rb"[A-Z][A-Z_-]{1,19}"
_TARGET_BYTE = rb"[\x21-\x7e\x80-\xff]"
_REQUEST_LINE = re.compile(rb"(%s) (%s+) HTTP/1\.([01])\r?" % (_METHOD, _TARGET_BYTE))
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?\r?")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_DIGITS = re.compile(rb"\d+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_TARGET_CHARS = re.compile(_TARGET_BYTE + rb"*")
_METHOD_CHARS = re.compile(rb"[A-Z][A-Z_-]{0,19}")
_VERSION = b"HTTP/1."
# What may follow "HTTP/1." in the first 13 bytes of a status line (compiled once: re.fullmatch
# with a pattern looks it up in re's cache, a few thousand instructions a response).
_STATUS_AFTER_VERSION = re.compile(rb"(?:[01](?: (?:\d{1,3}(?:[ \r].*)?)?)?)?", re.S)


def blank_line_end(data: bytes | bytearray, start: int) -> int | None:
    """Where the first blank line (``\\r?\\n\\r?\\n``) at or after ``start`` ends, or None:
    ``_BLANK_LINE.search(data, start).end()``. Two ``bytes.find`` instead of the regex's
    scan, which tries a match at every byte (about 36,000 instructions a head): the
    CRLF one first, then the LF one only before where that one was found."""
    crlf = data.find(b"\n\r\n", start)
    lf = data.find(b"\n\n", start, crlf + 1 if crlf >= 0 else len(data))
    if lf >= 0:
        return lf + 2
    return crlf + 3 if crlf >= 0 else None


def _plausible_start(line: bytes, direction: Direction) -> bool:
    """Whether ``line`` (without its LF, possibly incomplete) can begin a start line."""
    if direction == "response":
        status = line[:13]  # "HTTP/1.1 200 "
        if status[:7] != _VERSION[: len(status[:7])]:
            return False
        return _STATUS_AFTER_VERSION.fullmatch(status[7:]) is not None
    method, space, rest = line.partition(b" ")
    if not _METHOD_CHARS.fullmatch(method) or (space and len(method) < 2):
        return False
    target, space, version = rest.partition(b" ")
    if not _TARGET_CHARS.fullmatch(target):
        return False
    return not space or (bool(target) and version[:7] == _VERSION[: len(version[:7])])


class HttpStreamParser:
    """Incremental parser for one direction of one TCP stream."""

    def __init__(
        self,
        direction: Direction,
        *,
        pending: deque[RequestHint] | None = None,
        limits: HttpLimits | None = None,
        resync: bool = False,
        inside: bool = False,
        base: int = 0,
        decode: bool = True,
    ) -> None:
        """``decode``: fill each message's ``decoded_bodies`` (in memory, under
        ``max_decoded``); without it, a message carries its ``coding`` for the reader."""
        if direction not in ("request", "response"):
            raise ValueError(f"direction must be 'request' or 'response', not {direction!r}")
        self.direction: Direction = direction
        self.limits = limits or HttpLimits()
        self.decode = decode
        self.pending = pending if pending is not None else deque()
        self.active = True
        self.off_reason: str | None = None  # why the parser switched itself off
        self.message_count = 0  # messages returned so far
        # resync=True: instead of switching off, look for the next start line.
        self.resync = resync
        self.lost: str | None = None  # why it lost its footing, while it looks for it again
        self.resynced: str | None = None  # why it lost it, once found again (for the reader)
        self.tunnelled = False  # a CONNECT or a 101 ended HTTP/1.x (not a loss)
        self._search = StartLineSearch()
        self._synced = False  # a start line was found once
        self._skipped = False  # bytes other than empty lines were passed over to reach it
        self._sync_at = -1  # stream offset of the start line last found
        self._again = False  # lost its footing: go on with the bytes it holds
        # With resync, a request's body is also read by a parser of its own: a message with
        # a bogus Content-Length must not hide the messages it swallows.
        self._inside = inside  # this parser reads such a body
        self._inner_wanted = False  # the body under way gets an inner parser
        self._inner: HttpStreamParser | None = None
        self._side: list[HttpMessage] = []  # what the inner parser found, to return
        self._buf = bytearray()
        self._offset = base  # stream offset of _buf[0]
        self._scan = 0  # where to resume looking for the end of a header block
        self._start_checked = False  # the current message's first bytes look like HTTP
        self._state = _State.SYNC if resync else _State.HEAD
        self._msg: HttpMessage | None = None
        self._raw = bytearray()  # the body as sent, up to max_body
        self._data = bytearray()  # the de-chunked body, up to max_body (when chunked)
        self._dropped = 0  # body bytes over max_body
        self._remaining = 0  # of a Content-Length body or a chunk
        self._chunked = False
        self._transfer: list[str] = []  # transfer codings other than chunked
        self._tunnel: str | None = None  # after this message the stream stops being HTTP

    # --- public -------------------------------------------------------------

    def feed(self, data: bytes) -> list[HttpMessage]:
        """The messages ``data`` completed (in order); [] once the parser is off."""
        if not self.active or not data:
            return []
        if self._state is _State.LENGTH and not self._buf and len(data) < self._remaining:
            # Inside a body, and not its end (most of a download): straight to the body.
            self._remaining -= len(data)
            self._offset += len(data)
            self._keep(data, raw=True, data=True)
            return self._flush_side([])
        if self._state is _State.SYNC and self._skim(data):
            return []
        self._buf += data
        return self._guarded(self._run)

    def _skim(self, data: bytes) -> bool:
        """Looking for a start line: take ``data`` quickly when no anchor can end in it and
        it holds a line end (most binary bytes: a body's, ciphertext): keep only what
        follows its last LF. False: leave it to the search."""
        buf = self._buf
        newline = data.rfind(b"\n")
        if newline < 0 or ANCHOR in data or self._search.resume <= len(buf) - len(ANCHOR):
            return False  # no line end, an anchor in it, or one held that waits for more
        if buf and ANCHOR in buf[-len(ANCHOR) :] + data[: len(ANCHOR)]:
            return False
        keep = data[newline + 1 :][-MAX_LINE:]
        self._offset += len(buf) + len(data) - len(keep)
        self._skipped = self._skipped or bool(buf or data.lstrip(b"\r\n"))
        buf[:] = keep
        self._search.restart(len(keep))
        return True

    def finish(self) -> list[HttpMessage]:
        """The end of the stream: a close-delimited response, or a message cut short."""
        if not self.active:
            return []
        messages = self._guarded(self._at_end)
        self._state = _State.DONE
        self.active = False
        self.off_reason = self.off_reason or "stream finished"
        return messages

    def gap(self, offset: int) -> list[HttpMessage]:
        """Bytes of the stream were never seen; the next start at ``offset`` (resync=True):
        the message they cut short, then look for the next start line."""
        if not self.active:
            return []
        messages = self._guarded(partial(self._cut_short, reason="a gap in the stream"))
        if self.active:
            if self._state is not _State.SYNC:
                self.lost = self.lost or "bytes missing from the stream (a gap)"
            self._buf.clear()
            self._lose_footing()
            self._offset = offset
        return self._flush_side(messages)

    # --- driving ---------------------------------------------------------------

    def _guarded(self, step: Callable[[list[HttpMessage]], None]) -> list[HttpMessage]:
        out: list[HttpMessage] = []
        try:
            step(out)
        except Exception as exc:  # a bug here must not stop the analysis of a capture
            self._off(f"internal error: {exc!r}")
        return self._flush_side(out)

    def _flush_side(self, out: list[HttpMessage]) -> list[HttpMessage]:
        if self._side:
            out += self._side
            self._side = []
        return out

    def _run(self, out: list[HttpMessage]) -> None:
        while self.active:
            if not self._step(out):
                if not self._again:
                    return
                self._again = False

    def _step(self, out: list[HttpMessage]) -> bool:
        """Advance by one piece of the message; False when more bytes are needed."""
        state = self._state
        if state is _State.HEAD:
            return self._head(out)
        if state is _State.LENGTH:
            return self._length_body(out)
        if state is _State.CLOSE:
            self._keep(self._take(len(self._buf)), raw=True, data=True)
            return False
        if state is _State.CHUNK_SIZE:
            return self._chunk_size(out)
        if state is _State.CHUNK_DATA:
            return self._chunk_data()
        if state is _State.CHUNK_END:
            return self._chunk_end(out)
        if state is _State.TRAILERS:
            return self._trailers(out)
        if state is _State.SYNC:
            return self._sync()
        return False

    def _at_end(self, out: list[HttpMessage]) -> None:
        if self._state is _State.SYNC and self._buf and not self._buf.endswith(b"\n"):
            self._buf += b"\r\n"  # the stream may end in a start line without its line end
        self._run(out)
        if self.active:
            self._cut_short(out, "the stream ended inside the body", ended=True)

    def _cut_short(self, out: list[HttpMessage], reason: str, *, ended: bool = False) -> None:
        """The bytes stop (the stream ``ended``, or a gap): the message under way, as far as
        it came; a body delimited by the end of the stream is whole when it ended."""
        state = self._state
        if state is _State.CLOSE:
            self._emit(out, truncated=None if ended else reason)
        elif state is _State.HEAD:
            self._cut_head(out)
        elif state not in (_State.DONE, _State.SYNC):
            self._emit(out, truncated=reason)

    def _off(self, reason: str, skip: int = 0) -> None:
        """Switch off; or, with resync, skip ``skip`` bytes and look for a start line."""
        if self.resync:
            if self._tunnel is not None:
                self.tunnelled = True
            else:
                self.lost = self.lost or reason
            if self._offset + skip <= self._sync_at:  # nothing read past the start line
                skip = self._buf.find(b"\n") + 1 or 1
            del self._buf[:skip]
            self._offset += skip
            self._lose_footing()
            self._again = True
            return
        self.active = False
        self.off_reason = reason
        self._buf.clear()
        self._raw.clear()
        self._data.clear()

    def _lose_footing(self) -> None:
        """Drop the message under way; look for the next start line."""
        self._end_inner()
        self._state = _State.SYNC
        self._search.reset()
        self._msg = None
        self._raw.clear()
        self._data.clear()
        self._dropped = 0
        self._chunked = False
        self._transfer = []
        self._tunnel = None
        self._scan = 0
        self._start_checked = False

    def _sync(self) -> bool:
        start, direction, cut = self._search.find(self._buf)
        self._offset += cut
        self._skipped = self._skipped or cut > 0
        if start < 0:
            return False
        if start:
            self._skipped = self._skipped or bool(self._buf[:start].strip(b"\r\n"))
            del self._buf[:start]
            self._offset += start
        if self.lost is not None:
            self.resynced, self.lost = self.resynced or self.lost, None
        elif self._skipped and not self._synced:
            self.resynced = self.resynced or "bytes before the first start line"
        self._synced, self._skipped = True, False
        self._sync_at = self._offset
        self.direction = direction
        self._state = _State.HEAD
        return True

    def _take(self, n: int) -> bytes:
        with memoryview(self._buf) as view:
            chunk = bytes(view[:n])  # one copy, not two (a slice, then bytes of it)
        del self._buf[:n]
        self._offset += len(chunk)
        return chunk

    # --- head ------------------------------------------------------------------

    def _head(self, out: list[HttpMessage]) -> bool:
        if not self._start_checked:
            # RFC 9112 section 2.2: ignore empty lines before a request line.
            blank = 0
            while blank < len(self._buf) and self._buf[blank] in b"\r\n":
                blank += 1
            self._take(blank)
            if not self._buf:
                return False
            # The first bytes decide: a prefix is enough to tell TLS or binary from HTTP.
            newline = self._buf.find(b"\n", 0, START_CHECK)
            line = bytes(self._buf[: newline if newline >= 0 else START_CHECK])
            if not _plausible_start(line, self.direction):
                count = self.message_count
                where = f"after message {count}" if count else "at the start"
                self._off(f"not HTTP/1.x {where} of the stream")
                return False
            self._start_checked = newline >= 0 or len(self._buf) >= START_CHECK
        end = blank_line_end(self._buf, max(0, self._scan - 3))
        if end is None:
            if len(self._buf) > self.limits.max_head:
                self._off(f"header block over {self.limits.max_head} bytes", self._overlong())
                return False
            self._scan = len(self._buf)
            return False
        if end > self.limits.max_head:
            self._off(f"header block over {self.limits.max_head} bytes", self._overlong())
            return False
        start = self._offset
        with memoryview(self._buf) as view:
            head = bytes(view[:end])
        message = self._parse_head(head, start)
        if message is None:
            # With resync, the head is looked through again from its second byte: a start
            # line may follow junk on the same line ("GET /x HTTP/1.1 junkPOST /y HTTP/1.1").
            self._off("malformed start line", 1)
            return False
        del self._buf[: len(head)]
        self._offset += len(head)
        self._scan = 0
        self._start_checked = False
        return self._begin_body(message, out)

    def _overlong(self) -> int:
        """Bytes of an overlong head not to look through again for a start line: all but
        its last MAX_LINE (a message that began earlier would have ended its head by then)."""
        return max(self._buf.find(b"\n") + 1, len(self._buf) - MAX_LINE)

    def _parse_head(self, head: bytes, start: int) -> HttpMessage | None:
        lines = head.split(b"\n")
        first = lines[0]
        pattern = _REQUEST_LINE if self.direction == "request" else _STATUS_LINE
        line = pattern.fullmatch(first)
        if line is None:
            return None
        headers = _header_fields(lines[1:])
        if self.direction == "request":
            method = line.group(1).decode("ascii")
            target = line.group(2).decode("latin-1")
            return HttpMessage(
                direction="request",
                start=start,
                end=start + len(head),
                version=f"HTTP/1.{line.group(3).decode()}",
                head=head,
                headers=headers,
                method=method,
                target=target,
                host=_request_host(headers, line.group(2)),
            )
        reason = line.group(3)
        return HttpMessage(
            direction="response",
            start=start,
            end=start + len(head),
            version=f"HTTP/1.{line.group(1).decode()}",
            head=head,
            headers=headers,
            status=int(line.group(2)),
            reason=reason.decode("latin-1").strip() if reason is not None else None,
        )

    def _cut_head(self, out: list[HttpMessage]) -> None:
        """The stream ended inside a header block: keep it if the start line is whole."""
        if not self._buf.strip():
            return
        start = self._offset
        head = self._take(len(self._buf))
        message = self._parse_head(head.rstrip(b"\r\n").rstrip(b"\r") + b"\n", start)
        if message is None:
            return
        message.end = start + len(head)
        message.truncated = True
        message.notes.append("the stream ended inside the header block")
        self._msg = message
        self._emit(out)

    # --- framing (RFC 9112 section 6) -----------------------------------------------------------

    def _begin_body(self, message: HttpMessage, out: list[HttpMessage]) -> bool:
        self._msg = message
        self._raw.clear()
        self._data.clear()
        self._dropped = 0
        self._chunked = False
        self._transfer = []
        self._inner_wanted = self.resync and not self._inside and message.is_request
        if self.direction == "request":
            return self._request_framing(message, out)
        return self._response_framing(message, out)

    def _request_framing(self, message: HttpMessage, out: list[HttpMessage]) -> bool:
        assert message.method is not None
        if len(self.pending) < MAX_PENDING_REQUESTS:
            self.pending.append(RequestHint(message.method, message.host))
        if message.method == "CONNECT":
            self._tunnel = "CONNECT tunnel"
        codings = message.headers.tokens("transfer-encoding")
        if codings:
            if codings[-1] != "chunked":
                return self._framing_error(out, "request Transfer-Encoding does not end in chunked")
            return self._start_chunked(codings)
        return self._start_length(message, out, close_delimited=False)

    def _response_framing(self, message: HttpMessage, out: list[HttpMessage]) -> bool:
        assert message.status is not None
        status = message.status
        if message.interim:
            if status == 101:
                self._tunnel = "switched protocols (101)"
            return self._emit(out)
        hint = self.pending.popleft() if self.pending else None
        if hint is not None:
            message.request_method = hint.method
            message.host = hint.host
        method = hint.method if hint is not None else None
        if method == "CONNECT" and 200 <= status < 300:
            self._tunnel = "CONNECT tunnel"
            return self._emit(out)
        if method == "HEAD" or status in (204, 304):
            return self._emit(out)
        codings = message.headers.tokens("transfer-encoding")
        if codings:
            if codings[-1] != "chunked":
                self._transfer = codings
                self._state = _State.CLOSE
                return True
            return self._start_chunked(codings)
        return self._start_length(message, out, close_delimited=True)

    def _start_chunked(self, codings: list[str]) -> bool:
        self._chunked = True
        self._transfer = codings[:-1]
        self._state = _State.CHUNK_SIZE
        return True

    def _start_length(
        self, message: HttpMessage, out: list[HttpMessage], *, close_delimited: bool
    ) -> bool:
        values = message.headers.tokens("content-length")
        if not values:
            if close_delimited:
                self._state = _State.CLOSE
                return True
            return self._emit(out)
        if len(set(values)) != 1 or not _DIGITS.fullmatch(values[0].encode("latin-1")):
            return self._framing_error(out, "invalid or conflicting Content-Length")
        self._remaining = int(values[0])
        if self._remaining == 0:
            return self._emit(out)
        self._state = _State.LENGTH
        return True

    def _framing_error(self, out: list[HttpMessage], reason: str) -> bool:
        self._emit(out, truncated=reason)
        self._off(reason)
        return False

    # --- bodies -----------------------------------------------------------------------

    def _keep(self, chunk: bytes, *, raw: bool, data: bool) -> None:
        room = self.limits.max_body - len(self._raw)
        if raw:
            self._raw += chunk[: max(room, 0)]
            self._dropped += max(len(chunk) - max(room, 0), 0)
        if data and self._chunked:  # else the data is the body as sent: _raw
            self._data += chunk[: max(self.limits.max_body - len(self._data), 0)]
        if raw and self._inner_wanted:
            self._feed_inner(chunk)

    def _feed_inner(self, chunk: bytes) -> None:
        """A request's body as sent, to a parser of its own (made at its first byte)."""
        inner = self._inner
        if inner is None:
            start = self._offset - len(chunk)
            inner = HttpStreamParser(
                "request",
                limits=self.limits,
                resync=True,
                inside=True,
                base=start,
                decode=self.decode,
            )
            self._inner = inner
        self._found_inside(inner.feed(chunk))

    def _end_inner(self) -> None:
        """The body ended: what its parser holds, as far as it came."""
        inner, self._inner, self._inner_wanted = self._inner, None, False
        if inner is not None:
            self._found_inside(inner.finish())

    def _found_inside(self, messages: list[HttpMessage]) -> None:
        for message in messages:
            message.inside = True
        self._side += messages

    def _length_body(self, out: list[HttpMessage]) -> bool:
        if not self._buf:
            return False
        chunk = self._take(min(self._remaining, len(self._buf)))
        self._remaining -= len(chunk)
        self._keep(chunk, raw=True, data=True)
        if self._remaining:
            return False
        return self._emit(out)

    def _chunk_size(self, out: list[HttpMessage]) -> bool:
        newline = self._buf.find(b"\n", 0, MAX_CHUNK_LINE)
        if newline < 0:
            if len(self._buf) >= MAX_CHUNK_LINE:
                return self._framing_error(out, "chunk size line too long")
            return False
        line = self._take(newline + 1)
        self._keep(line, raw=True, data=False)
        size = line.split(b";", 1)[0].strip(b" \t\r\n")  # RFC 9112 section 7.1.1: extensions
        if not _HEX.fullmatch(size):
            return self._framing_error(out, "bad chunk size")
        self._remaining = int(size, 16)
        self._state = _State.CHUNK_DATA if self._remaining else _State.TRAILERS
        return True

    def _chunk_data(self) -> bool:
        if not self._buf:
            return False
        chunk = self._take(min(self._remaining, len(self._buf)))
        self._remaining -= len(chunk)
        self._keep(chunk, raw=True, data=True)
        if not self._remaining:
            self._state = _State.CHUNK_END
        return True

    def _chunk_end(self, out: list[HttpMessage]) -> bool:
        if self._buf.startswith(b"\r\n"):
            self._keep(self._take(2), raw=True, data=False)
        elif self._buf.startswith(b"\n"):
            self._keep(self._take(1), raw=True, data=False)
        elif self._buf in (b"", b"\r"):
            return False
        else:
            return self._framing_error(out, "chunk data not followed by CRLF")
        self._state = _State.CHUNK_SIZE
        return True

    def _trailers(self, out: list[HttpMessage]) -> bool:
        # RFC 9112 section 7.1.2: trailer fields, then an empty line.
        if self._buf.startswith(b"\r\n") or self._buf.startswith(b"\n"):
            end = 2 if self._buf.startswith(b"\r\n") else 1
        else:
            found = blank_line_end(self._buf, max(0, self._scan - 3))
            if found is None:
                if len(self._buf) > self.limits.max_head:
                    return self._framing_error(out, "trailer section too long")
                self._scan = len(self._buf)
                return False
            end = found
        section = self._take(end)
        self._scan = 0
        self._keep(section, raw=True, data=False)
        assert self._msg is not None
        self._msg.trailers = _header_fields(section.split(b"\n"))
        return self._emit(out)

    # --- completing a message ---------------------------------------------------------

    def _emit(self, out: list[HttpMessage], truncated: str | None = None) -> bool:
        message = self._msg
        if message is None:
            return False
        self._msg = None
        self._end_inner()
        message.end = self._offset
        if truncated is not None:
            message.truncated = True
            message.notes.append(truncated)
        if self._dropped:
            message.truncated = True
            message.notes.append(
                f"body over {self.limits.max_body} bytes: kept the first "
                f"{len(self._raw)}, skipped {self._dropped}"
            )
        message.body = bytes(self._raw)
        if message.body and not self.decode:
            message.coding = BodyCoding.of(
                bytes(self._data) if self._chunked else message.body,
                chunked=self._chunked,
                transfer=self._transfer,
                content=message.headers.tokens("content-encoding"),
            )
        elif message.body:
            decoded = decode_layers(
                bytes(self._data) if self._chunked else message.body,
                chunked=self._chunked,
                transfer=self._transfer,
                content=message.headers.tokens("content-encoding"),
                limit=self.limits.max_decoded,
            )
            _apply(message, decoded)
        self._raw.clear()
        self._data.clear()
        self._dropped = 0
        self._state = _State.HEAD
        self.message_count += 1
        out.append(message)
        if self._tunnel is not None:
            self._off(self._tunnel)
            return False
        return True


def _apply(message: HttpMessage, decoded: Decoded) -> None:
    message.decoded_bodies = decoded.layers
    message.partial_layer = decoded.partial
    message.decode_error = decoded.error
    message.bomb = decoded.capped


def _header_fields(lines: list[bytes]) -> Headers:
    headers = Headers()
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding (RFC 9112 5.2)
            folded_name, folded_value = headers[-1]
            headers[-1] = (folded_name, f"{folded_value} {line.strip().decode('latin-1')}")
            continue
        name, colon, value = line.partition(b":")
        if colon and name.strip():
            headers.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return headers


def _request_host(headers: Headers, target: bytes) -> str | None:
    host = headers.get("host")
    if host is not None:
        return host_name(host.encode("latin-1").strip())
    # absolute-form (RFC 9112 section 3.2.2), as sent to proxies
    found = re.match(rb"(?i)https?://([^/?#@]*@)?([^/?#]+)", target)
    return host_name(found.group(2)) if found else None


def host_name(value: bytes) -> str | None:
    """Host header value without its port: "zfhmd.vnet.cn:80" → "zfhmd.vnet.cn"."""
    if value.startswith(b"["):  # IPv6 literal
        end = value.find(b"]")
        return normalise_name(value[1:end]) if end > 1 else None
    host, _, port = value.partition(b":")
    if port and not port.isdigit():
        return None
    return normalise_name(host)
