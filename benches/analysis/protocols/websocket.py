"""WebSocket (RFC 6455) messages in both directions of an upgraded HTTP/1.1 connection.

A client asks with ``Upgrade: websocket``; a ``101`` on the same connection
switches it. From the end of each of those two messages on, the stream is
WebSocket frames: :class:`WebSocketReader` reads one direction's, unmasks a
client's payloads (every client frame is XORed with a random 4-byte key),
joins a fragmented message's frames (control frames may come between them),
inflates ``permessage-deflate`` (RFC 7692) and hands the message bytes, as they
come, to a :class:`MessageSink` that searches them.

Read passively: nothing here answers, so nothing insists on the rules a peer
would enforce (a client frame that is not masked, a server frame that is, a
missing closing handshake). The decoder is lenient where leniency reads more
and strict only where the framing itself is lost:

- The inflater keeps its 32 KiB window from message to message whatever the
  ``*_no_context_takeover`` parameters say, and always inflates with a 15-bit
  window, whatever ``*_max_window_bits`` say: a sender that keeps to the
  negotiated parameters never refers back past a message's start nor past its
  window, so the output is the same; a sender that breaks them (which a
  colluding server would still read) is read too. A message that ends its
  deflate stream (a block with BFINAL) is followed by a new inflater primed
  with the last window, which reads both what a kept context and what a reset
  one say next.
- A frame that cannot be framed (a reserved opcode, a control frame over 125
  bytes or fragmented, a continuation without a message, a new message inside a
  fragmented one, a 64-bit length with its top bit set) stops the reader:
  DECODER_GAVE_UP on the flow; the stream's bytes stay searched as sent.
- A message whose deflate data is broken: DECODER_GAVE_UP, and the rest of it
  is searched as sent (unmasked).

Bounded: every message byte handed on (unmasked or inflated) is paid for out of
the flow's decode budget (:mod:`~benches.analysis.protocols.budget`), a deflate
bomb stops at what the budget has left; past it, BUDGET_SPENT and the reader
stops. A message holds at most :data:`MAX_FRAMES` frames (past them,
BUDGET_SPENT too). What a reader keeps: a frame header (14 bytes), a control
payload (125 bytes), the inflater's window and :data:`MAX_EARLY` client bytes
waiting for the server's answer. The work is linear in the bytes: each is
looked at once, and each decompress call is bounded by :data:`OUTPUT_CHUNK`.

A message that is exactly the bytes as sent (one frame, not masked, not
compressed: a server's usual message) is not handed on: the stream's search
read it already, and it would cost budget for nothing. Nor is one (or a control
frame) shorter than the shortest hit: messages are searched apart, so it holds
none (a flood of one-byte frames costs a header's parse each, no search).

Frames are looked for only after a handshake the connection showed: a capture
that begins mid-connection is searched raw only (recognising frames anywhere
would cost a guess on every stream, and guesses on ciphertext).
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, auto
from typing import Protocol

from benches.analysis.protocols.budget import FlowBudget
from benches.analysis.protocols.http import Headers, HttpMessage
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.readers import ProtocolReader

WEBSOCKET = "websocket"  # the chain's first link: a message's bytes, unmasked and joined
DEFLATE_LABEL = f"{WEBSOCKET}+permessage-deflate"
MAX_FRAMES = 1 << 16  # frames of one message: libraries fragment at 4-64 KiB, not bytes
MAX_CONTROL = 125  # a control frame's payload at most (RFC 6455 section 5.5)
MAX_EARLY = 64 * 1024  # client bytes kept between its upgrade request and the answer
OUTPUT_CHUNK = 64 * 1024  # the most one decompress call hands on
# The last compressed bytes of a message kept: if its deflate data breaks, they are
# searched as sent with the rest of it (the inflater took them, and said nothing).
KEPT_INPUT = 4096
WINDOW = 1 << 15  # the largest LZ77 window (15 bits), kept to prime a new inflater
TAIL = b"\x00\x00\xff\xff"  # the empty stored block a sender strips from each message
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA = (TEXT, BINARY)
_CONTROL = (CLOSE, PING, PONG)
_RSV1, _RSV23 = 0x40, 0x30


@dataclass(frozen=True, slots=True)
class Deflate:
    """The permessage-deflate parameters the server's 101 agreed to (RFC 7692 section 7.1)."""

    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False
    client_max_window_bits: int = 15
    server_max_window_bits: int = 15


@dataclass(frozen=True, slots=True)
class Extensions:
    """What a 101's Sec-WebSocket-Extensions agreed to."""

    deflate: Deflate | None = None
    others: tuple[str, ...] = ()  # extensions not read ("x-webkit-deflate-frame")


def extensions(headers: Headers) -> Extensions:
    """The extensions of a 101 response, its Sec-WebSocket-Extensions read leniently: a
    parameter that does not parse keeps its default (the decoder does not depend on it)."""
    deflate: Deflate | None = None
    others: list[str] = []
    for value in headers.get_all("sec-websocket-extensions"):
        for offer in value.split(","):
            name, *parameters = (p.strip() for p in offer.split(";"))
            name = name.lower()
            if not name:
                continue
            if name != "permessage-deflate" or deflate is not None:
                if name != "permessage-deflate":
                    others.append(name[:64])
                continue
            deflate = _deflate(parameters)
    return Extensions(deflate, tuple(others))


def _deflate(parameters: list[str]) -> Deflate:
    flags: dict[str, bool] = {}
    bits: dict[str, int] = {}
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"')
        if key in ("client_no_context_takeover", "server_no_context_takeover"):
            flags[key] = True
        elif key.endswith("_max_window_bits") and value.isdigit() and 8 <= int(value) <= 15:
            bits[key] = int(value)
    return Deflate(
        client_no_context_takeover=flags.get("client_no_context_takeover", False),
        server_no_context_takeover=flags.get("server_no_context_takeover", False),
        client_max_window_bits=bits.get("client_max_window_bits", 15),
        server_max_window_bits=bits.get("server_max_window_bits", 15),
    )


def asks_upgrade(message: HttpMessage) -> bool:
    """A request that asks to switch the connection to WebSocket."""
    return message.is_request and WEBSOCKET in message.headers.tokens("upgrade")


class MessageSink(Protocol):
    """Where a reader's message bytes go: searched as they come."""

    def message_bytes(self, label: str, data: bytes, frame: int) -> None:
        """Bytes of the message under way (``label``: "websocket" or its deflate chain)."""

    def message_end(self, label: str, frame: int) -> None:
        """The message under way ended: what follows is another message."""

    def control(self, data: bytes, frame: int) -> None:
        """A control frame's payload (a close reason, a ping's), unmasked: whole."""

    def finish(self) -> None:
        """The stream ended: settle what waits."""


class _State(Enum):
    WAITING = auto()  # a client's bytes, kept until the server answers its request
    READING = auto()
    DONE = auto()


class WebSocketReader(ProtocolReader):
    """One direction of a WebSocket connection, read frame by frame as its bytes come."""

    __slots__ = ("name", "note", "budget", "sink", "state", "early", "head", "remaining",
                 "mask", "position", "opcode", "fin", "control", "quiet", "message",
                 "compressed", "direct", "broken", "frames", "inflater", "history",
                 "history_bytes", "taken", "messages", "work", "shortest")  # fmt: skip

    def __init__(
        self,
        name: str,
        note: Callable[[str, str, int], None],
        budget: FlowBudget,
        sink: MessageSink,
        *,
        waiting: bool = False,
        shortest: int = 1,
    ) -> None:
        self.name = name  # "to_server" or "to_client", for notes
        self.note = note  # Facts.note
        self.budget = budget
        self.sink = sink
        self.state = _State.WAITING if waiting else _State.READING
        self.early = bytearray()  # WAITING: the client's bytes so far
        self.head = bytearray()  # a frame header not yet whole
        self.remaining = 0  # payload bytes of the frame under way not yet come
        self.mask = b""  # the frame's masking key ("" when not masked)
        self.position = 0  # payload bytes of the frame unmasked so far
        self.opcode = 0  # the frame under way
        self.fin = False
        self.control = bytearray()  # a masked control frame's payload, unmasked
        self.quiet = False  # the control frame under way is not handed on (see direct)
        self.message = False  # a data message is under way (its first frame came)
        self.compressed = False  # it is compressed (RSV1 on its first frame)
        # The message is not handed on: it is the bytes as sent (one frame, not masked, not
        # compressed), which the stream's search read, or too short to hold a hit.
        self.direct = False
        self.broken = False  # its deflate data broke: the rest handed on as sent
        self.frames = 0  # frames of the message under way
        self.inflater: zlib._Decompress | None = None
        self.history: deque[bytes] = deque()  # the last inflated bytes, WINDOW of them
        self.history_bytes = 0
        self.taken = bytearray()  # the message's last compressed bytes, KEPT_INPUT of them
        self.messages = 0  # messages ended
        self.work = 0  # steps taken: frames and decompress calls (linear in the bytes)
        self.shortest = shortest  # the fewest bytes a hit takes: a shorter message holds none

    # --- as a protocol reader -------------------------------------------------------

    def data(self, chunk: bytes, frame: int, time: float) -> bool:
        if self.state is _State.WAITING:
            room = MAX_EARLY - len(self.early)
            self.early += chunk[:room]
            if len(chunk) > room:
                self._give_up(f"more than {MAX_EARLY} bytes came before the server's answer", frame)
            return self.state is not _State.DONE
        if self.state is _State.READING:
            self._frames(chunk, frame)
        return self.state is _State.READING

    def gap(self, offset: int, frame: int) -> bool:
        if self.state is _State.READING:
            self._give_up("bytes missing from the stream (a gap)", frame)
        self.close(frame)
        return False

    def close(self, frame: int) -> None:
        self._stop()

    # --- the handshake ----------------------------------------------------------------

    def accept(self, frame: int) -> None:
        """The server switched: read what the client sent so far as frames."""
        if self.state is not _State.WAITING:
            return
        self.state = _State.READING
        early, self.early = bytes(self.early), bytearray()
        if early:
            self._frames(early, frame)

    def decline(self) -> None:
        """The server answered otherwise: the client's bytes are HTTP still."""
        if self.state is _State.WAITING:
            self.state = _State.DONE
            self.early = bytearray()

    # --- frames ---------------------------------------------------------------------

    def _frames(self, data: bytes, frame: int) -> None:
        at, size = 0, len(data)
        while at < size and self.state is _State.READING:
            self.work += 1
            if self.remaining:
                take = min(self.remaining, size - at)
                self.remaining -= take
                self._payload(data[at : at + take], frame)
                at += take
                if not self.remaining:
                    self._frame_end(frame)
                continue
            head = self.head
            had = len(head)
            head += data[at : at + 14 - had]
            header = _header(head)
            if header is None:  # not whole yet: every byte taken belongs to it
                at = size
                continue
            length, payload, mask = header
            at += length - had
            first = head[0]
            head.clear()
            if self._frame_start(first, payload, mask, frame) and not payload:
                self._frame_end(frame)

    def _frame_start(self, first: int, length: int, mask: bytes, frame: int) -> bool:
        """Take a frame's header; False if the reader stopped on it."""
        opcode, fin = first & 0x0F, bool(first & 0x80)
        self.opcode, self.fin, self.mask, self.position = opcode, fin, mask, 0
        self.remaining = length
        if length >> 63:
            return self._broken("a frame length with its top bit set", frame)
        if opcode in _CONTROL:
            if not fin or length > MAX_CONTROL:
                return self._broken(f"a control frame (0x{opcode:x}) fragmented or over"
                                    f" {MAX_CONTROL} bytes", frame)  # fmt: skip
            self.control.clear()
            self.quiet = not mask or length < self.shortest
            return True
        if opcode == CONTINUATION:
            if not self.message:
                return self._broken("a continuation frame outside a message", frame)
            self.frames += 1
            if self.frames > MAX_FRAMES:
                return self._spent(frame, f"a message of more than {MAX_FRAMES} frames")
            return True
        if opcode not in _DATA:
            return self._broken(f"a frame of reserved opcode 0x{opcode:x}", frame)
        if self.message:
            return self._broken("a new message inside a fragmented one", frame)
        self.message, self.frames, self.broken = True, 1, False
        self.taken.clear()
        self.compressed = bool(first & _RSV1)
        self.direct = fin and not self.compressed and (not mask or length < self.shortest)
        if first & _RSV23:
            self.note(
                DECODER_GAVE_UP,
                f"WebSocket {self.name}: frames of an extension not read (RSV2/RSV3 set):"
                " their messages were searched as sent",
                frame,
            )
        return True

    def _payload(self, piece: bytes, frame: int) -> None:
        if self.opcode in _CONTROL:
            if not self.quiet:
                self.control += unmask(piece, self.mask, len(self.control))
            return
        if self.direct:
            return
        if self.mask:
            piece = unmask(piece, self.mask, self.position)
            self.position += len(piece)
        if self.compressed and not self.broken:
            self._inflate(piece, frame)
        else:
            self._hand_on(WEBSOCKET, piece, frame)

    def _frame_end(self, frame: int) -> None:
        if self.opcode in _CONTROL:
            if not self.quiet:
                control = bytes(self.control)
                if self._pay(len(control), frame):
                    self.sink.control(control, frame)
            return
        if not self.fin:
            return
        if self.compressed and not self.broken:
            self._inflate(TAIL, frame, tail=True)
        if self.state is not _State.READING:
            return
        if not self.direct:
            self.sink.message_end(self._label(), frame)
        self.message = self.compressed = self.direct = self.broken = False
        self.messages += 1

    def _label(self) -> str:
        return DEFLATE_LABEL if self.compressed and not self.broken else WEBSOCKET

    # --- permessage-deflate ----------------------------------------------------------

    def _inflate(self, data: bytes, frame: int, *, tail: bool = False) -> None:
        """Inflate ``data`` of the message under way (``tail``: the message's end), at most
        OUTPUT_CHUNK bytes a call, each paid for before it is handed on."""
        if not tail:
            taken = self.taken
            taken += data
            if len(taken) > 2 * KEPT_INPUT:  # cut now and then: amortised, not per piece
                del taken[:-KEPT_INPUT]
        inflater = self.inflater
        if inflater is None or inflater.eof:
            if tail:  # the deflate stream ended already (BFINAL): the tail is not part of it
                return
            inflater = self.inflater = self._new_inflater()
        while self.state is _State.READING:
            self.work += 1
            left = self.budget.left
            limit = min(OUTPUT_CHUNK, left + 1)
            try:
                out = inflater.decompress(data, limit)
            except zlib.error as error:
                self._inflate_failed(str(error), frame)
                return
            data = inflater.unconsumed_tail
            if out:
                if len(out) > left:
                    self._hand_on(DEFLATE_LABEL, out, frame)  # pays what it can, then stops
                    return
                self._keep_window(out)
                self._hand_on(DEFLATE_LABEL, out, frame)
            if inflater.eof:  # the sender ended its deflate stream (BFINAL)
                data = inflater.unused_data
                if tail or not data:
                    return  # what follows (the tail, or the next message) starts a new one
                inflater = self.inflater = self._new_inflater()
                continue
            if len(out) < limit and not data:
                return

    def _inflate_failed(self, error: str, frame: int) -> None:
        """The message's deflate data broke: its last bytes (KEPT_INPUT), and the rest of
        the message, are handed on as sent."""
        self.inflater = None
        self.broken = True
        self.note(
            DECODER_GAVE_UP,
            f"WebSocket {self.name}: a permessage-deflate message could not be inflated"
            f" ({error}): the rest of it was searched as sent",
            frame,
        )
        self.sink.message_end(DEFLATE_LABEL, frame)
        taken, self.taken = bytes(self.taken[-KEPT_INPUT:]), bytearray()
        self._hand_on(WEBSOCKET, taken, frame)

    def _new_inflater(self) -> zlib._Decompress:
        if not self.history_bytes:
            return zlib.decompressobj(-15)
        window = b"".join(self.history)[-WINDOW:]
        return zlib.decompressobj(-15, zdict=window)

    def _keep_window(self, out: bytes) -> None:
        history = self.history
        history.append(out)
        self.history_bytes += len(out)
        while self.history_bytes - len(history[0]) >= WINDOW:
            self.history_bytes -= len(history.popleft())

    # --- handing on, within the budget ------------------------------------------------

    def _hand_on(self, label: str, data: bytes, frame: int) -> None:
        left = self.budget.left
        if len(data) > left:
            if left:
                self.budget.charge(left)
                self.sink.message_bytes(label, data[:left], frame)
            self._spent(frame)
            return
        self.budget.charge(len(data))
        self.sink.message_bytes(label, data, frame)

    def _pay(self, size: int, frame: int) -> bool:
        if size > self.budget.left:
            return self._spent(frame)
        self.budget.charge(size)
        return True

    def _spent(self, frame: int, limit: str | None = None) -> bool:
        which = limit if limit is not None else self.budget.which()
        self.note(
            BUDGET_SPENT,
            f"decoding WebSocket messages {self.name} stopped at {which}:"
            " what lay past it was searched only as sent",
            frame,
        )
        self._stop()
        return False

    def _broken(self, what: str, frame: int) -> bool:
        self._give_up(what, frame)
        return False

    def _give_up(self, why: str, frame: int) -> None:
        self.note(
            DECODER_GAVE_UP,
            f"WebSocket {self.name}: {why}; the rest was searched as sent",
            frame,
        )
        self._stop()

    def _stop(self) -> None:
        """Read no more: the stream drops a reader that says so without closing it, so what
        the sink holds is settled now."""
        self.state = _State.DONE
        self.early = bytearray()
        self.inflater = None
        self.history.clear()
        self.sink.finish()


def _header(head: bytearray) -> tuple[int, int, bytes] | None:
    """(header length, payload length, masking key) of the frame header at the start of
    ``head``, or None if it is not whole yet (RFC 6455 section 5.2)."""
    if len(head) < 2:
        return None
    second = head[1]
    length = second & 0x7F
    size = 2
    if length == 126:
        size = 4
    elif length == 127:
        size = 10
    masked = second & 0x80
    if len(head) < size + (4 if masked else 0):
        return None
    if length == 126:
        length = int.from_bytes(head[2:4], "big")
    elif length == 127:
        length = int.from_bytes(head[2:10], "big")
    mask = bytes(head[size : size + 4]) if masked else b""
    return size + len(mask), length, mask


def unmask(data: bytes, key: bytes, position: int = 0) -> bytes:
    """``data`` XORed with the 4-byte ``key``, the payload's ``position``-th byte first
    (RFC 6455 section 5.3): one big-integer XOR, linear and in C."""
    if not data:
        return b""
    turn = position & 3
    key = key[turn:] + key[:turn]
    size = len(data)
    stream = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        size, "little"
    )


class WebSocketUpgrade:
    """One connection's switch to WebSocket, followed through its HTTP handshake.

    :meth:`message` is shown each HTTP message of the connection; it returns the reader
    to start where that message ends in its stream (the client's, from its request on,
    kept aside until the server's 101), or None.
    """

    __slots__ = ("note", "budget", "sinks", "shortest", "client", "server")

    def __init__(
        self,
        note: Callable[[str, str, int], None],
        budget: Callable[[], FlowBudget],
        sinks: Callable[[bool], MessageSink],
        shortest: int = 1,
    ) -> None:
        self.note = note
        self.budget = budget  # the flow's, drawn when a reader needs it
        self.sinks = sinks  # the sink of the client's (True) or the server's stream
        self.shortest = shortest  # the fewest bytes a hit takes
        self.client: WebSocketReader | None = None  # waiting for the server's answer
        self.server: WebSocketReader | None = None

    def message(
        self, message: HttpMessage, from_client: bool, frame: int
    ) -> WebSocketReader | None:
        if from_client:
            if self.server is None and message.is_request and asks_upgrade(message):
                if self.client is not None:
                    self.client.decline()
                self.client = WebSocketReader(
                    "to_server",
                    self.note,
                    self.budget(),
                    self.sinks(True),
                    waiting=True,
                    shortest=self.shortest,
                )
                return self.client
            return None
        client = self.client
        if client is None or self.server is not None or message.is_request:
            return None
        if message.status == 101:
            agreed = extensions(message.headers)
            if agreed.others:
                self.note(
                    DECODER_GAVE_UP,
                    f"WebSocket: extensions not read ({', '.join(agreed.others)}): frames they"
                    " change are searched unmasked, as sent",
                    frame,
                )
            self.server = WebSocketReader(
                "to_client", self.note, self.budget(), self.sinks(False), shortest=self.shortest
            )
            client.accept(frame)
            return self.server
        if message.status is not None and message.status >= 200:
            client.decline()
            self.client = None
        return None

    @property
    def switched(self) -> bool:
        return self.server is not None
