"""The h2c reader (protocols/http2.py): frames per direction, HPACK blocks, DATA per
stream, and its bounds; fuzzed for crashes and bounded work."""

from __future__ import annotations

from dataclasses import dataclass, field

from hpack import Encoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benches.analysis.protocols import http2
from benches.analysis.protocols.budget import DecodeBudget, FlowBudget
from benches.analysis.protocols.http import HttpMessage
from benches.analysis.protocols.http2 import HeaderBlock, Http2Session, representations
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.readers import Facts
from tests.support.h2c import (
    CONTINUATION,
    END_HEADERS,
    HEADERS,
    PADDED,
    PREFACE,
    PUSH_PROMISE,
    RST_STREAM,
    Side,
    data,
    frame,
    request_fields,
)
from tests.support.h2c import (
    settings as settings_frame,
)

IMEI = b"352098100123452"


@dataclass
class Read:
    """What one reader handed on: header blocks, bodies, notes."""

    facts: Facts = field(default_factory=Facts)
    blocks: list[HeaderBlock] = field(default_factory=list)
    bodies: list[HttpMessage] = field(default_factory=list)
    budget: FlowBudget = field(default_factory=lambda: DecodeBudget().flow())

    def session(self) -> Http2Session:
        blocks, bodies = self.blocks.append, self.bodies.append
        return Http2Session(
            self.facts,
            lambda: self.budget,
            (lambda b, f: blocks(b), lambda b, f: blocks(b)),
            (lambda m, f: bodies(m), lambda m, f: bodies(m)),
        )

    def notes(self, kind: str) -> list[str]:
        return [n.detail for n in self.facts.notes if n.kind == kind]


def client_stream(read: Read, stream: bytes, *, piece: int | None = None) -> bool:
    """Feed a client's stream (``piece`` bytes at a time); whether the reader goes on."""
    reader = read.session().reader(True)
    step = piece or len(stream) or 1
    live = True
    for start in range(0, len(stream), step):
        live = reader.data(stream[start : start + step], 1 + start // step, 0.0)
        if not live:
            return False
    reader.close(99)
    return live


def opening(*pairs: tuple[int, int]) -> bytes:
    return PREFACE + settings_frame(*pairs)


def leaky_conversation() -> bytes:
    side = Side()
    fields = [*request_fields(), ("x-imei", IMEI.decode()), ("content-encoding", "identity")]
    body = b'{"imei":"' + IMEI + b'"}'
    return (
        opening((1, 4096))
        + side.headers(1, fields, priority=True, padding=3, split=10)
        + data(1, body[:12], padding=7)
        + data(1, body[12:], end=True, padding=2)
        + side.headers(3, fields, end=True)
    )


# --- HPACK: how a field was written ------------------------------------------------------


def test_representations_name_huffman_plain_and_indexed() -> None:
    encoder = Encoder()
    fields = [(":method", "GET"), ("x-imei", IMEI.decode())]
    first = bytes(encoder.encode(fields, huffman=True))
    assert representations(first) == ["hpack-indexed", "hpack-huffman"]
    assert representations(bytes(encoder.encode(fields, huffman=True))) == ["hpack-indexed"] * 2
    plain = bytes(Encoder().encode([("x-imei", IMEI.decode())], huffman=False))
    assert representations(plain) == ["hpack"]
    assert representations(b"\x40\x05ab") is None  # a string past the end of the block


# --- frames ---------------------------------------------------------------------------


def test_headers_and_bodies_whatever_the_chunks() -> None:
    """Padding, priority, CONTINUATION and a body over two padded DATA frames: the same
    blocks and bodies fed whole or a byte at a time; no frame header or padding inside."""
    whole, bytewise = Read(), Read()
    assert client_stream(whole, leaky_conversation())
    assert client_stream(bytewise, leaky_conversation(), piece=1)
    for read in (whole, bytewise):
        assert [b.stream for b in read.blocks] == [1, 3]
        assert b"x-imei: " + IMEI + b"\r\n" in read.blocks[0].text
        assert read.blocks[0].coding_at(read.blocks[0].text.index(IMEI)) == "hpack-huffman"
        assert read.blocks[1].coding_at(read.blocks[1].text.index(IMEI)) == "hpack-indexed"
        [body] = read.bodies
        assert body.body == b'{"imei":"' + IMEI + b'"}'
        assert body.is_request and body.method == "POST" and body.version == "HTTP/2"
        assert read.facts.notes == []
        assert read.facts.http is not None
        assert read.facts.http.host == "fota.vendor.example"  # :authority without its port


def test_a_gzip_body_carries_its_coding() -> None:
    read = Read()
    side = Side()
    fields = [*request_fields(), ("content-encoding", "gzip")]
    client_stream(read, opening() + side.headers(1, fields) + data(1, b"\x1f\x8b...", end=True))
    [body] = read.bodies
    assert body.coding is not None and body.coding.codings == ("gzip",)


def test_a_reset_stream_hands_on_what_came() -> None:
    read = Read()
    side = Side()
    stream = opening() + side.headers(1, request_fields()) + data(1, b"part of it")
    client_stream(read, stream + frame(RST_STREAM, 0, 1, bytes(4)))
    assert [m.body for m in read.bodies] == [b"part of it"]


def test_frames_of_unknown_types_are_skipped() -> None:
    """Extensions and GREASE frame types (0x0b + 0x1f * N) are ignored, as RFC 9113 says."""
    read = Read()
    side = Side()
    grease = frame(0x0B + 0x1F * 3, 0xFF, 0, b"whatever" * 4)
    stream = opening() + grease + side.headers(1, [*request_fields(), ("x-imei", IMEI.decode())])
    assert client_stream(read, stream)
    assert [b.stream for b in read.blocks] == [1] and read.facts.notes == []


def test_a_push_promise_block_is_decoded_and_searched() -> None:
    """A server's PUSH_PROMISE (padded) carries the promised request's header block."""
    read = Read()
    side = Side()
    block = side.block([*request_fields("/pushed", "GET"), ("x-imei", IMEI.decode())])
    payload = bytes([2]) + (2).to_bytes(4, "big") + block + bytes(2)
    stream = settings_frame() + frame(PUSH_PROMISE, END_HEADERS | PADDED, 1, payload)
    stream += side.headers(2, [(":status", "200")]) + data(2, b"pushed body", end=True)
    reader = read.session().reader(False)
    assert reader.data(stream, 1, 0.0)
    assert [b.stream for b in read.blocks] == [2, 2]
    assert b"x-imei: " + IMEI in read.blocks[0].text
    assert [(m.body, m.status) for m in read.bodies] == [(b"pushed body", 200)]


def test_a_gap_gives_up_with_a_note() -> None:
    read = Read()
    reader = read.session().reader(True)
    stream = opening() + Side().headers(1, request_fields()) + data(1, b"part")
    assert reader.data(stream, 1, 0.0)
    assert not reader.gap(len(stream) + 100, 2)
    assert [m.body for m in read.bodies] == [b"part"]  # what came before it, searched
    [note] = read.notes(DECODER_GAVE_UP)
    assert "a gap" in note


def test_garbage_after_the_preface_gives_up_with_a_note() -> None:
    read = Read()
    assert not client_stream(read, PREFACE + b"\xde\xad\xbe\xef" * 40)
    [note] = read.notes(DECODER_GAVE_UP)
    assert note.startswith("HTTP/2 to_server: the first frame is of type ")


def test_a_header_block_hpack_cannot_decode_gives_up() -> None:
    read = Read()
    broken = frame(HEADERS, END_HEADERS, 1, b"\xff\xff\xff\x7f")  # index far past any table
    assert not client_stream(read, opening() + broken)
    [note] = read.notes(DECODER_GAVE_UP)
    assert "HPACK" in note


def test_a_continuation_out_of_place_gives_up() -> None:
    read = Read()
    assert not client_stream(read, opening() + frame(CONTINUATION, END_HEADERS, 1, b"\x82"))
    assert read.notes(DECODER_GAVE_UP)


def test_not_the_preface_is_left_quietly() -> None:
    read = Read()
    assert not client_stream(read, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read.facts.notes == []


# --- bounds ---------------------------------------------------------------------------


def test_streams_past_the_bound_are_said() -> None:
    read = Read()
    side = Side()
    stream = opening() + b"".join(
        side.headers(2 * n + 1, request_fields()) for n in range(http2.MAX_STREAMS + 1)
    )
    client_stream(read, stream)
    [note] = read.notes(BUDGET_SPENT)
    assert f"more than {http2.MAX_STREAMS} HTTP/2 streams" in note


def test_a_header_block_past_the_bound_is_said() -> None:
    read = Read()
    side = Side()
    size = 16_000  # within the default SETTINGS_MAX_FRAME_SIZE
    piece = side.block([("x-pad", "a" * 60)])
    block = (piece * (http2.MAX_HEADER_BLOCK // len(piece) + 10))[: http2.MAX_HEADER_BLOCK + 100]
    frames = frame(HEADERS, 0, 1, block[:size])
    rest = block[size:]
    while rest:
        part, rest = rest[:size], rest[size:]
        frames += frame(CONTINUATION, 0 if rest else END_HEADERS, 1, part)
    client_stream(read, opening() + frames)
    assert any("header block over" in n for n in read.notes(BUDGET_SPENT))


def test_an_hpack_table_past_the_bound_is_said() -> None:
    """A peer may allow a table larger than the bench keeps: an encoder that uses it is a
    bound hit (BUDGET_SPENT), not a broken stream."""
    read = Read()
    session = read.session()
    session.settings(False, settings_frame((1, 1 << 20))[9:])  # the server allows 1 MiB
    reader = session.reader(True)
    update = b"\x3f" + _hpack_integer((1 << 20) - 31)  # size update to 1 MiB (5-bit prefix)
    reader.data(opening() + frame(HEADERS, END_HEADERS, 1, update + b"\x82"), 1, 0.0)
    assert any("HPACK table over" in n for n in read.notes(BUDGET_SPENT))


def _hpack_integer(value: int) -> bytes:
    out = bytearray()
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def test_body_bytes_are_charged_to_the_decode_budget() -> None:
    read = Read(budget=DecodeBudget(total=1000, per_flow=1000).flow())
    side = Side()
    stream = opening() + side.headers(1, request_fields()) + data(1, b"x" * 5000, end=True)
    client_stream(read, stream)
    assert len(read.bodies[0].body) < 1000
    assert read.budget.spent <= 1000
    assert any("reassembling HTTP/2 bodies stopped" in n for n in read.notes(BUDGET_SPENT))


def test_decoded_headers_are_charged_too() -> None:
    """One byte may say a whole table entry: a flood of indexed fields stops at the budget."""
    read = Read(budget=DecodeBudget(total=50_000, per_flow=50_000).flow())
    side = Side()
    first = side.headers(1, [*request_fields(), ("x-big", "a" * 3000)], end=True)
    again = b"".join(side.headers(2 * n + 3, [("x-big", "a" * 3000)], end=True) for n in range(100))
    client_stream(read, opening() + first + again)
    assert read.budget.spent <= 50_000
    assert any("decoding HTTP/2 header blocks stopped" in n for n in read.notes(BUDGET_SPENT))


# --- fuzz -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_fuzz_any_bytes_after_the_preface(tail: bytes, piece: int) -> None:
    """Never raises; what it hands on is bounded by the bytes fed and the budget."""
    read = Read()
    client_stream(read, opening() + tail, piece=piece)
    handed = sum(len(b.text) for b in read.blocks) + sum(len(m.body) for m in read.bodies)
    assert read.budget.spent <= DecodeBudget().per_flow
    assert handed <= 4 * read.budget.spent + len(tail)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6))
def test_fuzz_a_valid_conversation_with_bytes_changed(changes: list[tuple[int, int]]) -> None:
    stream = bytearray(leaky_conversation())
    for at, value in changes:
        stream[len(PREFACE) + at % (len(stream) - len(PREFACE))] = value
    read = Read()
    client_stream(read, bytes(stream), piece=7)
    assert sum(len(m.body) for m in read.bodies) <= len(stream)


def test_work_grows_linearly_with_frames() -> None:
    """Counted, not timed: 8x the frames cost 8x the budget and hand on 8x the text."""

    def spent(count: int) -> tuple[int, int]:
        read = Read()
        side = Side()
        frames = b"".join(
            side.headers(2 * n + 1, request_fields(f"/p{n}"), end=True) for n in range(count)
        )
        client_stream(read, opening() + frames)
        return read.budget.spent, sum(len(b.text) for b in read.blocks)

    small, large = spent(50), spent(400)
    assert large[0] <= 9 * small[0] and large[1] <= 9 * small[1]
