"""The WebSocket reader (protocols/websocket.py): RFC 6455 section 5.7's and RFC 7692
section 7.2.3's examples, the handshake's parameters, frames that do not parse, the
budget, and a fuzz of the frame parser for crashes and for bounded work."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.budget import DecodeBudget, FlowBudget
from benches.analysis.protocols.http import Headers
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.websocket import (
    DEFLATE_LABEL,
    MAX_FRAMES,
    OUTPUT_CHUNK,
    WEBSOCKET,
    Deflate,
    WebSocketReader,
    extensions,
    unmask,
)
from tests.support.websocket_frames import (
    BINARY,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Compressor,
    fragments,
    frame,
)

MASK = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 section 5.7's


@dataclass
class Recorded:
    """A MessageSink that keeps what it is handed: messages by label, control payloads."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)
    controls: list[bytes] = field(default_factory=list)
    current: dict[str, bytearray] = field(default_factory=dict)
    finished: bool = False

    def message_bytes(self, label: str, data: bytes, frame: int) -> None:
        self.current.setdefault(label, bytearray()).extend(data)

    def message_end(self, label: str, frame: int) -> None:
        self.messages.append((label, bytes(self.current.pop(label, b""))))

    def control(self, data: bytes, frame: int) -> None:
        self.controls.append(data)

    def finish(self) -> None:
        self.finished = True


@dataclass
class Reading:
    reader: WebSocketReader
    sink: Recorded
    budget: FlowBudget
    notes: list[tuple[str, str]]


def reading(
    *chunks: bytes, budget: int = 1 << 20, name: str = "to_server", shortest: int = 1
) -> Reading:
    notes: list[tuple[str, str]] = []
    flow = DecodeBudget(total=budget, per_flow=budget).flow()
    sink = Recorded()

    def note(kind: str, detail: str, frame: int) -> None:
        notes.append((kind, detail))

    reader = WebSocketReader(name, note, flow, sink, shortest=shortest)
    for index, chunk in enumerate(chunks):
        reader.data(chunk, index + 1, 0.0)
    reader.close(len(chunks))
    return Reading(reader, sink, flow, notes)


# --- RFC 6455 section 5.7 ------------------------------------------------------------


def test_rfc6455_single_frame_unmasked_text_is_the_stream_bytes_and_not_handed_on() -> None:
    done = reading(bytes([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]))
    assert done.sink.messages == [] and done.budget.spent == 0 and not done.notes
    assert done.reader.messages == 1


def test_rfc6455_single_frame_masked_text() -> None:
    wire = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert frame(TEXT, b"Hello", mask=MASK) == wire  # the helper agrees with the RFC
    done = reading(wire)
    assert done.sink.messages == [(WEBSOCKET, b"Hello")] and done.budget.spent == 5


def test_rfc6455_fragmented_unmasked_text() -> None:
    done = reading(bytes([0x01, 0x03, 0x48, 0x65, 0x6C]), bytes([0x80, 0x02, 0x6C, 0x6F]))
    assert done.sink.messages == [(WEBSOCKET, b"Hello")]


def test_rfc6455_ping_and_masked_pong() -> None:
    ping = bytes([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])  # as sent: the stream's search
    pong = bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    done = reading(ping + pong)
    assert done.sink.controls == [b"Hello"] and not done.notes


@pytest.mark.parametrize("size", [256, 65536])
def test_rfc6455_binary_in_16_and_64_bit_lengths(size: int) -> None:
    payload = bytes(range(256)) * (size // 256)
    head = bytes([0x82, 0x7E]) + size.to_bytes(2, "big") if size < 65536 else b""
    head = head or bytes([0x82, 0x7F]) + size.to_bytes(8, "big")
    masked = frame(BINARY, payload, mask=MASK)
    assert masked[:2] == bytes([head[0], head[1] | 0x80])
    done = reading(masked[:3], masked[3:1000], masked[1000:])  # split inside the header
    assert done.sink.messages == [(WEBSOCKET, payload)]


def test_control_frame_between_fragments_and_a_key_turned_at_every_offset() -> None:
    payload = bytes(range(97))
    wire = fragments(TEXT, payload, [1, 6, 50], mask=MASK, between=frame(PING, b"ab", mask=MASK))
    done = reading(*(wire[i : i + 1] for i in range(len(wire))))  # one byte at a time
    assert done.sink.messages == [(WEBSOCKET, payload)] and done.sink.controls == [b"ab"]


def test_messages_and_control_frames_shorter_than_any_hit_are_not_handed_on() -> None:
    short = frame(TEXT, b"12345", mask=MASK) + frame(PING, b"12345", mask=MASK)
    between = frame(PING, b"", mask=MASK) + frame(PONG, b"xy") + frame(PING, b"123456", mask=MASK)
    payload = b"0123456789" * 3
    wire = short + fragments(BINARY, payload, [2, 4], mask=MASK, between=between)
    done = reading(wire, shortest=6)
    assert done.sink.messages == [(WEBSOCKET, payload)] and done.sink.controls == [b"123456"]
    assert done.budget.spent == len(payload) + 6


# --- RFC 7692 section 7.2.3 ------------------------------------------------------------


def test_rfc7692_a_message_compressed() -> None:
    wire = bytes([0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    done = reading(wire, name="to_client")
    assert done.sink.messages == [(DEFLATE_LABEL, b"Hello")]


def test_rfc7692_a_compressed_message_fragmented() -> None:
    wire = bytes([0x41, 0x03, 0xF2, 0x48, 0xCD, 0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00])
    done = reading(wire)
    assert done.sink.messages == [(DEFLATE_LABEL, b"Hello")]


def test_rfc7692_sharing_the_lz77_window() -> None:
    first = bytes([0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    second = bytes([0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00])  # "Hello" again, by reference
    done = reading(first + second)
    assert done.sink.messages == [(DEFLATE_LABEL, b"Hello"), (DEFLATE_LABEL, b"Hello")]


def test_rfc7692_a_stored_block() -> None:
    wire = bytes([0xC1, 0x0B, 0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00])
    assert reading(wire).sink.messages == [(DEFLATE_LABEL, b"Hello")]


def test_rfc7692_bfinal_then_a_message_that_refers_back() -> None:
    """A block with BFINAL ends the deflate stream; a next message of a kept context may
    still refer to its window: the new inflater is primed with it."""
    final = bytes([0xC1, 0x08, 0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00])
    again = bytes([0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00])
    done = reading(final + again + final)
    assert done.sink.messages == [(DEFLATE_LABEL, b"Hello")] * 3 and not done.notes


def test_rfc7692_two_deflate_blocks_in_one_message() -> None:
    wire = bytes([0xC1, 0x0D, 0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9,
                  0xC9, 0x07, 0x00])  # fmt: skip
    assert reading(wire).sink.messages == [(DEFLATE_LABEL, b"Hello")]


@pytest.mark.parametrize("takeover", [True, False])
@pytest.mark.parametrize("bits", [9, 15])
def test_messages_of_a_kept_or_a_reset_context_and_any_window(takeover: bool, bits: int) -> None:
    compressor = Compressor(takeover=takeover, bits=bits)
    texts = [b'{"n":%d,"text":"the same words again and again"}' % i for i in range(5)]
    wire = b"".join(frame(TEXT, compressor.message(t), rsv1=True, mask=MASK) for t in texts)
    done = reading(wire)
    assert done.sink.messages == [(DEFLATE_LABEL, t) for t in texts] and not done.notes


def test_handshake_parameters() -> None:
    headers = Headers([("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"
                        "=10; server_no_context_takeover, x-webkit-deflate-frame")])  # fmt: skip
    agreed = extensions(headers)
    assert agreed.deflate == Deflate(
        server_no_context_takeover=True, client_max_window_bits=10, server_max_window_bits=15
    )
    assert agreed.others == ("x-webkit-deflate-frame",)
    bad = Headers([("Sec-WebSocket-Extensions", 'permessage-deflate; server_max_window_bits="x"')])
    assert extensions(bad).deflate == Deflate()
    assert extensions(Headers()).deflate is None


# --- what does not parse, and the bounds ----------------------------------------------


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (bytes([0x83, 0x00]), "reserved opcode 0x3"),
        (bytes([0x09, 0x00]), "control frame (0x9) fragmented"),
        (bytes([0x89, 0x7E, 0x00, 0x7E]) + bytes(126), "control frame (0x9) fragmented or over"),
        (bytes([0x80, 0x01, 0x41]), "continuation frame outside a message"),
        (bytes([0x01, 0x01, 0x41, 0x81, 0x01, 0x41]), "a new message inside a fragmented one"),
        (bytes([0x82, 0x7F, 0x80]) + bytes(7), "top bit set"),
    ],
)
def test_frames_that_do_not_parse_give_up_with_a_note(wire: bytes, why: str) -> None:
    done = reading(wire + frame(TEXT, b"never read", mask=MASK))
    [(kind, detail)] = done.notes
    assert kind == DECODER_GAVE_UP and why in detail and "searched as sent" in detail
    assert (WEBSOCKET, b"never read") not in done.sink.messages


def test_broken_deflate_data_is_noted_and_searched_as_sent() -> None:
    wire = frame(TEXT, b"\xff\xff\xff plain after", rsv1=True, mask=MASK)
    done = reading(wire + frame(TEXT, Compressor().message(b"next"), rsv1=True, mask=MASK))
    assert [k for k, _ in done.notes] == [DECODER_GAVE_UP]
    assert (WEBSOCKET, b"\xff\xff\xff plain after") in done.sink.messages
    assert (DEFLATE_LABEL, b"next") in done.sink.messages


def test_a_deflate_bomb_stops_at_the_budget() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(bytes(64 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    assert len(payload) < 100_000
    done = reading(frame(BINARY, payload[:-4], rsv1=True, mask=MASK), budget=3 << 20)
    assert done.budget.spent == 3 << 20
    assert sum(len(d) for _, d in done.sink.messages) <= 3 << 20
    [(kind, detail)] = done.notes
    assert kind == BUDGET_SPENT and "WebSocket messages to_server" in detail
    assert done.reader.work <= (3 << 20) // OUTPUT_CHUNK + 8


def test_masked_messages_past_the_budget_stop_with_a_note() -> None:
    wire = b"".join(frame(TEXT, bytes(1000), mask=MASK) for _ in range(10))
    done = reading(wire, budget=4500)
    assert done.budget.spent == 4500 and [k for k, _ in done.notes] == [BUDGET_SPENT]


def test_frames_per_message_are_bounded() -> None:
    wire = frame(TEXT, b"a", fin=False) + frame(CONTINUATION, b"", fin=False) * MAX_FRAMES
    done = reading(wire + frame(CONTINUATION, b""))
    [(kind, detail)] = done.notes
    assert kind == BUDGET_SPENT and f"more than {MAX_FRAMES} frames" in detail


def test_the_client_waits_for_the_answer_and_an_answer_otherwise_drops_it() -> None:
    notes: list[str] = []
    sink = Recorded()
    reader = WebSocketReader(
        "to_server", lambda k, d, f: notes.append(d), DecodeBudget().flow(), sink, waiting=True
    )
    wire = frame(TEXT, b"early", mask=MASK)
    assert reader.data(wire[:4], 1, 0.0) and reader.data(wire[4:], 2, 0.0)
    assert sink.messages == []
    reader.accept(3)
    assert sink.messages == [(WEBSOCKET, b"early")]
    declined = WebSocketReader("to_server", lambda k, d, f: None, DecodeBudget().flow(), sink,
                               waiting=True)  # fmt: skip
    declined.data(b"GET / HTTP/1.1\r\n\r\n", 1, 0.0)
    declined.decline()
    assert not declined.data(wire, 2, 0.0)


def test_unmask_at_any_position() -> None:
    data = bytes(range(50))
    whole = unmask(data, MASK)
    assert whole == bytes(b ^ MASK[i % 4] for i, b in enumerate(data))
    assert b"".join(unmask(data[i : i + 7], MASK, i) for i in range(0, 50, 7)) == whole


# --- fuzz -------------------------------------------------------------------------------

_frames = st.lists(
    st.tuples(
        st.sampled_from([TEXT, BINARY, CONTINUATION, PING, 0x8, 0xA, 0x3]),
        st.binary(max_size=300),
        st.booleans(),  # fin
        st.one_of(st.none(), st.binary(min_size=4, max_size=4)),  # mask
        st.booleans(),  # rsv1
    ),
    max_size=12,
)


def _wire(frames: list[tuple[int, bytes, bool, bytes | None, bool]]) -> bytes:
    return b"".join(frame(o, p, fin=f, mask=m, rsv1=r) for o, p, f, m, r in frames)


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_fuzz_random_bytes_never_raise_and_work_is_linear(data: bytes, cuts: list[int]) -> None:
    done = reading(*_cut(data, cuts), budget=1 << 16)
    assert done.reader.work <= 2 * len(data) + 16
    assert done.budget.spent <= 1 << 16
    assert all(kind in (DECODER_GAVE_UP, BUDGET_SPENT) for kind, _ in done.notes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=_frames, cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_fuzz_frames_read_the_same_however_the_stream_is_cut(
    frames: list[tuple[int, bytes, bool, bytes | None, bool]], cuts: list[int]
) -> None:
    wire = _wire(frames)
    whole = reading(wire)
    pieces = reading(*_cut(wire, cuts))
    if any("could not be inflated" in detail for _, detail in whole.notes):
        # zlib drops the output of the call that fails: what broken data inflated to
        # before it broke depends on the cuts (the data is searched as sent anyway)
        plain = [m for m in whole.sink.messages if m[0] == WEBSOCKET]
        assert [m for m in pieces.sink.messages if m[0] == WEBSOCKET] == plain
    else:
        assert pieces.sink.messages == whole.sink.messages
    assert pieces.sink.controls == whole.sink.controls
    assert pieces.notes == whole.notes
    assert whole.reader.work <= 2 * len(wire) + 16
