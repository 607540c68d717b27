"""HTTP/2 in cleartext (h2c): frames per direction, HPACK header blocks, DATA per stream.

A client opens h2c with the connection preface (:data:`PREFACE`, "prior knowledge")
or upgrades an HTTP/1.1 request with ``Upgrade: h2c``, answered by a 101 after which
the server speaks HTTP/2 and the client sends the preface (RFC 9113 sections 3.2 and
3.4; RFC 7540 section 3.2 for the upgrade). An :class:`Http2Session` holds what both
directions share; each direction is read by an :class:`Http2Reader`, fed the stream's
chunks as they come:

- frames are read as they arrive (RFC 9113 section 4.1): a DATA payload is handed on
  piece by piece (its padding left out), a header block's fragments (HEADERS,
  PUSH_PROMISE, CONTINUATION) are kept up to :data:`MAX_HEADER_BLOCK`, other frames'
  payloads up to :data:`MAX_CONTROL` (the rest skipped, never kept);
- each header block is decoded by the direction's own HPACK decoder (python-hyper's
  ``hpack``: the dynamic table is per direction), its table at most
  :data:`MAX_TABLE` bytes and its header list at most :data:`MAX_HEADER_LIST`; each
  field is labelled by how it was written (:func:`representations`), and the block
  handed on as text (``name: value`` lines) to be searched;
- DATA is reassembled per stream (at most :data:`MAX_STREAMS` at once), its bytes
  charged to the flow's decode budget, and each body handed on when its stream ends,
  with its content-codings, as an :class:`~benches.analysis.protocols.http.HttpMessage`.

Decoded header bytes are charged to the budget too: the dynamic table lets one byte
say a whole table entry. A bound that is hit is said on the flow (BUDGET_SPENT); a
frame or header block that does not parse stops the direction (DECODER_GAVE_UP).
Either way the stream's bytes stay searched as sent. Nothing here raises.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field

from benches.analysis.protocols.budget import FlowBudget
from benches.analysis.protocols.http import Headers, HttpMessage, HttpRequest, host_name
from benches.analysis.protocols.http_codings import BodyCoding
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.readers import Facts, ProtocolReader

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
LABEL = "h2c"  # the first link of a finding's decoding chain: "h2c+hpack-huffman+plain"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
END_STREAM, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x4, 0x8, 0x20
HEADER_TABLE_SIZE, MAX_FRAME_SIZE = 0x1, 0x5  # SETTINGS identifiers (RFC 9113 6.5.2)
FRAME_HEADER = 9
DEFAULT_FRAME = 1 << 14  # SETTINGS_MAX_FRAME_SIZE until a peer announces more
DEFAULT_TABLE = 4096  # SETTINGS_HEADER_TABLE_SIZE's initial value

# Bounds on one connection's state (each hit is a BUDGET_SPENT note on the flow).
MAX_STREAMS = 100  # streams whose DATA is reassembled at once (a common advertised limit)
MAX_HEADER_BLOCK = 256 * 1024  # a header block's HPACK bytes, its fragments together
MAX_HEADER_LIST = 256 * 1024  # a decoded block, as hpack counts it (32 bytes a field more)
MAX_TABLE = 64 * 1024  # an HPACK dynamic table (16 times the default)
MAX_CONTROL = 4096  # kept of another frame's payload (SETTINGS: 682 settings; the rest is read raw)
# Payload lengths the frame types must have (RFC 9113 section 6).
_FIXED = {PRIORITY: 5, RST_STREAM: 4, PING: 8, WINDOW_UPDATE: 4}
_ON_STREAM = frozenset({DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE, CONTINUATION})
_ON_CONNECTION = frozenset({SETTINGS, PING, GOAWAY})
_BLOCKS = frozenset({HEADERS, PUSH_PROMISE, CONTINUATION})
# Pseudo-header names, the way HTTP/1 readers know a request and its host
_METHOD, _PATH, _AUTHORITY, _STATUS = b":method", b":path", b":authority", b":status"


def opens_http2(first: bytes) -> bool:
    """Whether a client's first bytes are (the start of) the HTTP/2 connection preface."""
    return first[: len(PREFACE)] == PREFACE[: len(first)]


def server_settings(first: bytes) -> bool:
    """Whether a server's first bytes are a SETTINGS frame (the server preface), which a
    server may send before the client's preface is through."""
    return (
        len(first) >= FRAME_HEADER
        and first[3] == SETTINGS
        and first[4:9] == b"\x00\x00\x00\x00\x00"
        and int.from_bytes(first[:3], "big") % 6 == 0
    )


def upgrades_to_h2c(message: HttpMessage) -> bool:
    """An HTTP/1.1 request asking for ``Upgrade: h2c``, or the 101 that grants it."""
    if not message.is_request and message.status != 101:
        return False
    return "h2c" in message.headers.tokens("upgrade")


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    """One decoded header block, as text to search: a ``name: value`` line per field."""

    stream: int
    offset: int  # stream offset of the frame that began it
    text: bytes
    ends: tuple[int, ...]  # where each field's line ends in ``text``
    codings: tuple[str, ...]  # how each field was written: "hpack-huffman", ...

    def coding_at(self, position: int) -> str:
        """How the field holding ``text[position]`` was written."""
        for end, coding in zip(self.ends, self.codings, strict=True):
            if position < end:
                return coding
        return self.codings[-1] if self.codings else "hpack"


HeaderSink = Callable[[HeaderBlock, int], None]
BodySink = Callable[[HttpMessage, int], None]


@dataclass(slots=True)
class _Stream:
    """One stream's half in one direction: its body as far as it came."""

    offset: int  # stream offset of its first frame in this direction
    request: bool
    headers: Headers = field(default_factory=Headers)
    body: bytearray = field(default_factory=bytearray)
    capped: bool = False  # the budget stopped its reassembly


class Http2Session:
    """What one h2c connection's two directions share: their readers, the settings each
    announced (each bounds what the other sends), the flow's facts and budget."""

    def __init__(
        self,
        facts: Facts,
        budget: Callable[[], FlowBudget],
        headers: tuple[HeaderSink, HeaderSink],
        bodies: tuple[BodySink, BodySink],
    ) -> None:
        self.facts = facts
        self.budget = budget
        self.sinks = (headers, bodies)
        self.readers: dict[bool, Http2Reader] = {}  # by "from the client"
        # What each side's peer announced, by the side it binds ("from the client"):
        # the largest SETTINGS_HEADER_TABLE_SIZE and SETTINGS_MAX_FRAME_SIZE seen.
        self.table_limit = {True: DEFAULT_TABLE, False: DEFAULT_TABLE}
        self.max_frame = {True: DEFAULT_FRAME, False: DEFAULT_FRAME}
        self.prior = False  # the client opened with the preface (prior knowledge)
        self.upgraded = False  # a 101 granted h2c: the client must send the preface
        self.noted: set[str] = set()  # bounds already said on the flow

    def reader(self, client: bool, start: int = 0) -> Http2Reader:
        """The reader of the client's (or server's) direction, from stream offset ``start``."""
        reader = self.readers.get(client)
        if reader is None:
            index = 0 if client else 1
            reader = Http2Reader(self, client, start, self.sinks[0][index], self.sinks[1][index])
            self.readers[client] = reader
        return reader

    def peer(self, reader: Http2Reader) -> Http2Reader | None:
        return self.readers.get(not reader.client)

    def upgrade_settings(self, request: HttpMessage) -> None:
        """An upgrade request's ``HTTP2-Settings`` (the client's SETTINGS, base64url)."""
        value = request.headers.get("http2-settings")
        if value is None:
            return
        try:
            payload = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
        except (binascii.Error, ValueError):
            return
        self.settings(True, payload[: MAX_CONTROL - MAX_CONTROL % 6])

    def settings(self, client: bool, payload: bytes | bytearray) -> None:
        """SETTINGS the client (or server) announced: they bound what the other side sends."""
        bound = not client
        for at in range(0, len(payload) - 5, 6):
            key = int.from_bytes(payload[at : at + 2], "big")
            value = int.from_bytes(payload[at + 2 : at + 6], "big")
            if key == HEADER_TABLE_SIZE:
                self.table_limit[bound] = max(self.table_limit[bound], value)
            elif key == MAX_FRAME_SIZE:
                self.max_frame[bound] = max(self.max_frame[bound], min(value, (1 << 24) - 1))
        reader = self.readers.get(bound)
        if reader is not None:
            reader.decoder.max_allowed_table_size = min(self.table_limit[bound], MAX_TABLE)

    def note(self, kind: str, detail: str, frame: int) -> None:
        self.facts.note(kind, detail, frame)


class Http2Reader(ProtocolReader):
    """One direction of an h2c connection (a ProtocolReader on its stream)."""

    __slots__ = ("session", "client", "name", "header_sink", "body_sink", "offset",
                 "preface", "head", "kind", "flags", "stream", "left", "payload", "pad",
                 "frame_offset", "block", "block_stream", "block_end", "block_offset",
                 "block_promise", "decoder", "streams", "live", "first", "frame")  # fmt: skip

    def __init__(
        self,
        session: Http2Session,
        client: bool,
        start: int,
        header_sink: HeaderSink,
        body_sink: BodySink,
    ) -> None:
        self.session = session
        self.client = client
        self.name = "to_server" if client else "to_client"
        self.header_sink = header_sink
        self.body_sink = body_sink
        self.offset = start  # stream offset of the next byte
        self.preface = PREFACE if client else b""  # still to come
        self.head = bytearray()  # a frame header as it comes
        self.kind = self.flags = self.stream = self.left = 0  # the frame under way
        self.payload = bytearray()  # its payload kept (not DATA's)
        self.pad = -1  # DATA: padding at the end (-1: its Pad Length not read yet)
        self.frame_offset = start
        self.block = bytearray()  # a header block's fragments
        self.block_stream = 0  # the stream it is on (0: no block under way)
        self.block_end = False  # END_STREAM on its HEADERS
        self.block_offset = 0
        self.block_promise = False  # it began with a PUSH_PROMISE
        # hpack is imported by the first HTTP/2 session, not by every analysis: most
        # captures have none, and its import is about 10 M instructions.
        from hpack import Decoder

        self.decoder = Decoder(max_header_list_size=MAX_HEADER_LIST)
        self.decoder.max_allowed_table_size = min(session.table_limit[client], MAX_TABLE)
        self.streams: dict[int, _Stream] = {}
        self.live = True
        self.first = True  # its first frame must be SETTINGS
        self.frame = 0  # the capture frame of the chunk being read

    # --- ProtocolReader -----------------------------------------------------------

    def data(self, chunk: bytes, frame: int, time: float) -> bool:
        self.frame = frame
        at = 0
        if self.preface:
            at = min(len(self.preface), len(chunk))
            if chunk[:at] != self.preface[:at]:
                if self.session.upgraded:
                    self._give_up("no connection preface after the upgrade to h2c")
                self.live = False
                return False
            self.preface = self.preface[at:]
            self.offset += at
        try:
            self._frames(chunk, at)
        except Exception as error:  # a bug here must not stop the analysis of a capture
            self._give_up(f"internal error: {error!r}")
        return self.live

    def gap(self, offset: int, frame: int) -> bool:
        self.frame = frame
        self._give_up("bytes missing from the stream (a gap): frames lost")
        return False

    def close(self, frame: int) -> None:
        self.frame = frame
        if self.live:
            self._flush()
            self.live = False

    # --- frames ---------------------------------------------------------------------

    def _frames(self, chunk: bytes, at: int) -> None:
        size = len(chunk)
        while at < size and self.live:
            if len(self.head) < FRAME_HEADER:
                take = min(FRAME_HEADER - len(self.head), size - at)
                self.head += chunk[at : at + take]
                at += take
                self.offset += take
                if len(self.head) == FRAME_HEADER:
                    self._begin()
                continue
            take = min(self.left, size - at)
            if self.kind == DATA:
                self._data(chunk, at, take)
                if not self.live:
                    return
            else:
                room = self._room()
                if room > 0:
                    self.payload += chunk[at : at + min(take, room)]
                elif room < 0:
                    return  # _room gave up
            at += take
            self.offset += take
            self.left -= take
            if not self.left:
                self._end()

    def _begin(self) -> None:
        head = self.head
        length = int.from_bytes(head[:3], "big")
        kind, flags = head[3], head[4]
        stream = int.from_bytes(head[5:9], "big")
        self.frame_offset = self.offset - FRAME_HEADER
        self.kind, self.flags, self.stream, self.left = kind, flags, stream & 0x7FFFFFFF, length
        self.payload = bytearray()
        self.pad = -1
        why = self._malformed(length, kind, stream)
        if why is not None:
            self._give_up(why)
            return
        self.first = False
        if not length:
            self._end()

    def _malformed(self, length: int, kind: int, stream: int) -> str | None:
        """Why a frame header cannot be HTTP/2's, if it cannot (garbage, or lost framing)."""
        # Frames of unknown types are skipped (RFC 9113 section 4.1: extensions, GREASE);
        # garbage rarely gets past the SETTINGS first and the length bound.
        if self.first and kind != SETTINGS:
            return f"the first frame is of type {kind}, not SETTINGS"
        limit = self.session.max_frame[self.client]
        if length > limit:
            return f"a frame of {length} bytes, over the peer's maximum of {limit}"
        if stream & 0x80000000 and kind <= CONTINUATION:
            return "the reserved bit of a stream identifier is set"
        if kind in _ON_STREAM and not stream & 0x7FFFFFFF:
            return f"a frame of type {kind} on stream 0"
        if kind in _ON_CONNECTION and stream:
            return f"a frame of type {kind} on stream {stream}"
        if kind in _FIXED and length != _FIXED[kind]:
            return f"a frame of type {kind} of {length} bytes"
        if kind == SETTINGS and (length % 6 or (self.flags & 1 and length)):
            return f"a SETTINGS frame of {length} bytes"
        if self.block_stream and (kind != CONTINUATION or stream != self.block_stream):
            return "a header block not continued by its CONTINUATION"
        if kind == CONTINUATION and not self.block_stream:
            return "a CONTINUATION without a header block before it"
        return None

    def _room(self) -> int:
        """Payload bytes still kept for this frame (a header block's, or a control
        frame's first MAX_CONTROL); -1 once a header block is over its bound."""
        if self.kind in _BLOCKS:
            if len(self.block) + len(self.payload) + self.left > MAX_HEADER_BLOCK:
                self._bound(
                    f"an HTTP/2 header block over {MAX_HEADER_BLOCK} bytes:"
                    " the rest of the direction is searched only as sent"
                )
                self._stop()
                return -1
            return self.left
        return MAX_CONTROL - len(self.payload)

    def _data(self, chunk: bytes, at: int, take: int) -> None:
        """A piece of a DATA payload: its padding left out, the rest to its stream."""
        piece = chunk[at : at + take]
        if self.pad < 0:
            if self.flags & PADDED:
                self.pad = piece[0]
                piece = piece[1:]
                if self.pad >= self.left:  # Pad Length counts in the payload
                    self._give_up("a DATA frame's padding is longer than the frame")
                    return
            else:
                self.pad = 0
        # bytes of the payload past this piece: the data ends where the padding begins
        after = self.left - take
        data_left = max(len(piece) - max(self.pad - after, 0), 0)
        if data_left:
            self._keep(piece[:data_left])

    def _end(self) -> None:
        """The frame is whole."""
        kind, payload, flags = self.kind, self.payload, self.flags
        self.head = bytearray()
        if kind == DATA:
            if flags & END_STREAM:
                self._finish(self.stream)
        elif kind == HEADERS:
            fragment = self._unpadded(payload, 5 if flags & PRIORITY_FLAG else 0)
            if fragment is not None:
                self._fragment(fragment, self.stream, bool(flags & END_STREAM))
        elif kind == PUSH_PROMISE:
            fragment = self._unpadded(payload, 4)
            if fragment is not None:
                promised = int.from_bytes(fragment[:4], "big") & 0x7FFFFFFF if fragment else 0
                self._fragment(fragment[4:], promised or self.stream, False)
        elif kind == CONTINUATION:
            self._fragment(payload, self.stream, self.block_end)
        elif kind == SETTINGS and not flags & 1:
            self.session.settings(self.client, payload)
        elif kind == RST_STREAM:
            self._reset(self.stream)
        self.payload = bytearray()

    def _unpadded(self, payload: bytearray, fixed: int) -> bytearray | None:
        """A HEADERS or PUSH_PROMISE payload without its padding, from its ``fixed``
        fields on (priority, promised stream)."""
        start, end = 0, len(payload)
        if self.flags & PADDED:
            if not payload:
                self._give_up("a padded frame without its Pad Length")
                return None
            start, end = 1, end - payload[0]
        if end - start < fixed:
            self._give_up(f"a frame of type {self.kind} too short for its padding and fields")
            return None
        return payload[start + (fixed if self.kind == HEADERS else 0) : end]

    # --- header blocks ---------------------------------------------------------------

    def _fragment(self, fragment: bytes | bytearray, stream: int, end_stream: bool) -> None:
        if not self.block_stream:
            self.block_stream, self.block_end = stream, end_stream
            self.block_offset, self.block_promise = self.frame_offset, self.kind == PUSH_PROMISE
        self.block += fragment
        if self.flags & END_HEADERS:
            block, stream = bytes(self.block), self.block_stream
            self.block = bytearray()
            self.block_stream = 0
            self._decoded(block, stream, end_stream=self.block_end, promise=self.block_promise)

    def _decoded(self, block: bytes, stream: int, *, end_stream: bool, promise: bool) -> None:
        """Decode a whole header block, hand it on to be searched, and open or end its
        stream."""
        fields = self._decode(block)
        if fields is None:
            return
        size = sum(len(name) + len(value) for name, value in fields)
        budget = self.session.budget()
        if size > budget.left:
            self._bound(
                f"decoding HTTP/2 header blocks stopped at {budget.which()}:"
                " the rest of the direction is searched only as sent"
            )
            self._stop()
            return
        budget.charge(size)
        codings = representations(block)
        if codings is None or len(codings) != len(fields):
            codings = ["hpack"] * len(fields)
        text, ends = bytearray(), []
        for name, value in fields:
            text += name + b": " + value + b"\r\n"
            ends.append(len(text))
        headers = Headers((n.decode("latin-1"), v.decode("latin-1")) for n, v in fields)
        found = HeaderBlock(stream, self.block_offset, bytes(text), tuple(ends), tuple(codings))
        self.header_sink(found, self.frame)
        request = headers.get(_METHOD.decode()) is not None
        if request and self.client:
            self._first_request(headers)
        if promise:
            return
        current = self.streams.get(stream)
        if current is None:
            current = self._open(stream, request or self.client)
            if current is not None:
                current.headers = headers
        elif not current.body:
            current.headers.extend(headers)  # 1xx responses, then the final one
        if end_stream:
            self._finish(stream)

    def _decode(self, block: bytes) -> list[tuple[bytes, bytes]] | None:
        from hpack.exceptions import InvalidTableSizeError, OversizedHeaderListError

        try:
            return [(bytes(n), bytes(v)) for n, v in self.decoder.decode(block, raw=True)]
        except OversizedHeaderListError:
            self._bound(
                f"an HTTP/2 header list over {MAX_HEADER_LIST} bytes:"
                " the rest of the direction is searched only as sent"
            )
        except InvalidTableSizeError as error:
            allowed = self.session.table_limit[self.client]
            if allowed > MAX_TABLE:
                self._bound(
                    f"an HPACK table over {MAX_TABLE} bytes ({allowed} allowed):"
                    " the rest of the direction is searched only as sent"
                )
            else:
                self._give_up(f"HPACK: {error}")
        except Exception as error:  # hpack's errors, and any other it lets out
            self._give_up(f"HPACK: {error}")
        self._stop()
        return None

    def _first_request(self, headers: Headers) -> None:
        """The connection's first request names its destination, as an HTTP/1 Host does."""
        facts = self.session.facts
        if facts.http is not None:
            return
        authority = headers.get(_AUTHORITY.decode()) or headers.get("host")
        facts.http = HttpRequest(
            method=headers.get(_METHOD.decode()) or "",
            target=headers.get(_PATH.decode()) or "",
            version="HTTP/2",
            host=host_name(authority.encode("latin-1").strip()) if authority else None,
        )

    # --- streams ----------------------------------------------------------------------

    def _open(self, stream: int, request: bool) -> _Stream | None:
        if len(self.streams) >= MAX_STREAMS:
            self._bound(
                f"more than {MAX_STREAMS} HTTP/2 streams open at once: the bodies of the"
                " rest are searched only as sent"
            )
            return None
        opened = self.streams[stream] = _Stream(self.block_offset, request)
        return opened

    def _keep(self, data: bytes) -> None:
        current = self.streams.get(self.stream)
        if current is None or current.capped:
            return
        budget = self.session.budget()
        room = budget.left
        if len(data) > room:
            current.capped = True
            data = data[:room]
            self._bound(
                f"reassembling HTTP/2 bodies stopped at {budget.which()}:"
                " what lay past it was searched only as sent"
            )
        budget.charge(len(data))
        current.body += data

    def _finish(self, stream: int) -> None:
        """The stream's half in this direction ended: its body, to be searched."""
        current = self.streams.pop(stream, None)
        if current is None or not current.body:
            return
        body = bytes(current.body)
        headers = current.headers
        message = HttpMessage(
            direction="request" if current.request else "response",
            start=current.offset,
            end=self.offset,
            version="HTTP/2",
            head=b"",
            headers=headers,
            method=headers.get(_METHOD.decode()),
            target=headers.get(_PATH.decode()),
            status=_status(headers.get(_STATUS.decode())),
            body=body,
            coding=BodyCoding.of(
                body, chunked=False, transfer=[], content=headers.tokens("content-encoding")
            ),
        )
        self.body_sink(message, self.frame)

    def _reset(self, stream: int) -> None:
        """RST_STREAM ends the stream both ways: what each side sent of it, searched."""
        self._finish(stream)
        peer = self.session.peer(self)
        if peer is not None:
            peer._finish(stream)

    def _flush(self) -> None:
        """The direction ends: every body under way, as far as it came."""
        for stream in list(self.streams):
            self._finish(stream)

    # --- stopping ---------------------------------------------------------------------

    def _stop(self) -> None:
        self._flush()
        self.live = False

    def _give_up(self, why: str) -> None:
        if self.live:
            self.session.note(
                DECODER_GAVE_UP,
                f"HTTP/2 {self.name}: {why}; the rest is searched only as sent",
                self.frame,
            )
        self._stop()

    def _bound(self, detail: str) -> None:
        if detail not in self.session.noted:
            self.session.noted.add(detail)
            self.session.note(BUDGET_SPENT, detail, self.frame)


def _status(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) == 3 else None


# --- how each field of a header block was written (RFC 7541 section 6) ---------------


def representations(block: bytes) -> list[str] | None:
    """How each field of a header block was written, in order: "hpack-indexed" (a table
    entry), "hpack-huffman" (a Huffman-coded value), "hpack" (a value as is). None when
    the block does not parse (the decoder says why)."""
    codings: list[str] = []
    at, size = 0, len(block)
    try:
        while at < size:
            byte = block[at]
            if byte & 0x80:
                _, at = _integer(block, at, 7)
                codings.append("hpack-indexed")
                continue
            if byte & 0x40:
                index, at = _integer(block, at, 6)
            elif byte & 0x20:
                _, at = _integer(block, at, 5)  # a dynamic table size update: no field
                continue
            else:
                index, at = _integer(block, at, 4)
            if not index:
                _, at = _string(block, at)
            huffman, at = _string(block, at)
            codings.append("hpack-huffman" if huffman else "hpack")
    except IndexError:
        return None
    return codings if at == size else None


def _integer(block: bytes, at: int, bits: int) -> tuple[int, int]:
    """An HPACK integer with an N-bit prefix at ``at``: (value, where the next begins)."""
    mask = (1 << bits) - 1
    value = block[at] & mask
    at += 1
    if value < mask:
        return value, at
    shift = 0
    while True:
        byte = block[at]
        at += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at
        if shift > 28:
            raise IndexError("HPACK integer too long")


def _string(block: bytes, at: int) -> tuple[bool, int]:
    """An HPACK string literal at ``at``: (Huffman-coded, where the next begins)."""
    huffman = bool(block[at] & 0x80)
    length, at = _integer(block, at, 7)
    if at + length > len(block):
        raise IndexError("HPACK string past the block")
    return huffman, at + length
