"""The search for the next HTTP/1.x start line, and a parser that syncs wherever it can
(issue 12: decode wherever a decoder can sync)."""

from __future__ import annotations

import gzip
import random

import pytest

from benches.analysis.protocols.http import HttpMessage, HttpStreamParser
from benches.analysis.protocols.http_sync import MAX_LINE, StartLineSearch
from benches.analysis.protocols.notes import DECODER_GAVE_UP, DECODER_RESYNC
from benches.analysis.protocols.readers import Facts, http_readers


def first_start(data: bytes, piece: int | None = None) -> tuple[int, str] | None:
    """(stream offset, kind) of the first start line in ``data``, fed ``piece`` at a time."""
    search, buffer, cut_total = StartLineSearch(), bytearray(), 0
    piece = piece or len(data) or 1
    for at in range(0, len(data), piece):
        buffer += data[at : at + piece]
        start, kind, cut = search.find(buffer)
        cut_total += cut
        if start >= 0:
            return cut_total + start, kind
    return None


@pytest.mark.parametrize("piece", [None, 1, 3])
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00POST /a HTTP/1.1\r\nHost: x\r\n\r\n", (1, "request")),
        (b"junk\r\nGET / HTTP/1.0\n", (6, "request")),
        (b"\x07\x00HTTP/1.1 200 OK\r\n", (2, "response")),
        (b"abc HTTP/1.1 404\r\n", (4, "response")),
        (b"XXPOST /a HTTP/1.1\r\n", (2, "request")),  # a known method ends the capitals
        (b"M-SEARCH * HTTP/1.1\r\n", (0, "request")),
        (b"he said HTTP/1.1 is old\r\n", None),  # not a status line: no code
        (b"GET /a HTTP/1.1 trailing\r\n", None),  # a request line ends at its version
        (b"GET /a\x00b HTTP/1.1\r\n", None),  # a target has no control bytes
        (b"HTTP/1.2 200 OK\r\n", None),
        (b"HTTP/1.1 099 x\r\n", None),
    ],
)
def test_the_next_start_line_is_found_wherever_it_begins(
    data: bytes, expected: tuple[int, str] | None, piece: int | None
) -> None:
    assert first_start(data, piece) == expected


def test_only_the_last_line_is_kept_while_looking() -> None:
    search, buffer = StartLineSearch(), bytearray()
    for _ in range(200):
        buffer += b"x" * 1000  # no line end, no anchor: 200 kB of one line
        assert search.find(buffer)[0] == -1
        assert len(buffer) <= MAX_LINE + 1000
    buffer += b"\n" + b"y" * 10
    search.find(buffer)
    assert bytes(buffer) == b"y" * 10 or len(buffer) <= 16


def test_a_request_line_split_across_segments_is_found() -> None:
    line = b"POST /" + b"p" * 5000 + b" HTTP/1.1\r\n"
    assert first_start(b"\x00\x01" + line, 700) == (2, "request")


# --- the parser with resync --------------------------------------------------------------


def parse(
    direction: str, stream: bytes, piece: int = 0
) -> tuple[list[HttpMessage], HttpStreamParser]:
    parser = HttpStreamParser(direction, resync=True)  # type: ignore[arg-type]
    messages: list[HttpMessage] = []
    piece = piece or len(stream)
    for at in range(0, len(stream), piece):
        messages += parser.feed(stream[at : at + piece])
    messages += parser.finish()
    return messages, parser


def test_a_request_stream_may_hold_responses_and_requests_after_junk() -> None:
    stream = (
        b"\x00HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"garbage\r\n\r\nPUT /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nz"
    )
    messages, parser = parse("request", stream)
    assert [(m.direction, m.status or m.method, m.body) for m in messages] == [
        ("response", 200, b"ok"),
        ("request", "PUT", b"z"),
    ]
    assert messages[1].start == stream.index(b"PUT")  # offsets stay the stream's
    assert parser.lost is None


def test_a_start_line_after_junk_on_its_own_line_is_not_lost() -> None:
    stream = b"GET /x HTTP/1.1 junk-on-the-linePOST /y HTTP/1.1\r\nContent-Length: 1\r\n\r\nq"
    messages, _ = parse("request", stream)
    assert [(m.method, m.target) for m in messages] == [("POST", "/y")]


def test_the_stream_may_end_in_a_start_line() -> None:
    messages, _ = parse("request", b"\x00GET /last HTTP/1.1")
    assert [(m.method, m.truncated) for m in messages] == [("GET", True)]


def test_a_gap_cuts_the_message_short_and_the_parser_reads_on() -> None:
    parser = HttpStreamParser("request", resync=True)
    assert parser.feed(b"POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123") == []
    (cut,) = parser.gap(200)
    assert cut.truncated and cut.body == b"0123"
    (after,) = parser.feed(b"tail of something\r\nGET /b HTTP/1.1\r\n\r\n")
    assert (after.method, after.start) == ("GET", 200 + len(b"tail of something\r\n"))
    assert parser.resynced is not None and "gap" in parser.resynced


def test_an_overlong_head_is_not_read_again_and_again() -> None:
    """A start line, then no end of the head for ever: each byte is looked at a bounded
    number of times (the parser keeps only MAX_LINE bytes of an overlong head to look
    through again), so the bytes held at any time stay bounded too."""
    parser = HttpStreamParser("request", resync=True)
    line = b"GET / HTTP/1.1\r\n"
    for _ in range(2000):
        assert parser.feed(line * 64) == []
        assert len(parser._buf) <= parser.limits.max_head + len(line) * 64
    assert "header block" in (parser.resynced or "")


# --- the readers: notes on the flow -------------------------------------------------------


def read(client: bytes, server: bytes = b"") -> tuple[list[HttpMessage], Facts]:
    facts, messages = Facts(), []
    to_server, to_client = http_readers(
        facts, lambda m, f: messages.append(m), lambda m, f: messages.append(m)
    )
    to_server.data(client, 1, 0.0)
    if server:
        to_client.data(server, 2, 0.0)
    to_server.close(3)
    to_client.close(3)
    return messages, facts


def test_a_loss_of_sync_and_a_resync_are_said_on_the_flow() -> None:
    good = b"GET /a HTTP/1.1\r\n\r\n"
    _, facts = read(good + b"\x01\x02 not http\r\n" + good)
    assert [(n.kind, n.detail) for n in facts.notes] == [
        (DECODER_RESYNC,
         "HTTP/1 to_server: not HTTP/1.x after a message; read on from the next start line"),
    ]  # fmt: skip
    _, facts = read(good + b"\x01\x02 not http\r\n")
    assert [n.kind for n in facts.notes] == [DECODER_GAVE_UP]


def test_a_stream_that_is_never_http_says_nothing() -> None:
    _, facts = read(bytes(range(256)) * 8, b"\x00" * 100)
    assert facts.notes == [] and facts.http is None


def test_after_a_101_the_other_protocol_is_no_loss_of_sync() -> None:
    request = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"
    facts, messages = Facts(), []
    to_server, to_client = http_readers(
        facts, lambda m, f: messages.append(m), lambda m, f: messages.append(m)
    )
    to_server.data(request, 1, 0.0)
    to_client.data(response, 2, 0.0)
    to_server.data(b"\x81\x85mask+payload", 3, 0.0)
    to_server.close(4)
    to_client.close(4)
    assert len(messages) == 2 and facts.notes == []


def test_many_losses_make_few_notes_and_giving_up_is_always_said() -> None:
    facts, messages = Facts(), []
    to_server, _ = http_readers(facts, lambda m, f: messages.append(m), lambda m, f: None)
    for index in range(500):  # a loss of sync and a resync in each segment
        to_server.data(b"GET /a HTTP/1.1\r\n\r\n\x00junk %d\r\n" % index, index, 0.0)
    to_server.close(500)
    assert len(messages) == 500
    assert [n.kind for n in facts.notes] == [DECODER_RESYNC, DECODER_GAVE_UP]


# --- fuzz: junk never raises, and never hides a message that follows it --------------------

JUNK_PIECES = [
    b"\x00", b"\xff\xfe", b"\r\n", b"\r\n\r\n", b" ", b"HTTP/1.", b"HTTP/1.1", b" HTTP/1.0",
    b"HTTP/1.1 ", b"HTTP/1.1 20", b"GET ", b"POST", b"/path", b"Content-Length: 99999\r\n",
    b"Transfer-Encoding: chunked\r\n", b"0\r\n", b"zz\r\n", b"\x16\x03\x01", b"ABC DEF",
    b"X", b"\t", b":", b"GET /x HTTP/1.1 junk",
]  # fmt: skip


def junk(rng: random.Random) -> bytes:
    """Bytes that hold no whole start line (a start line is a message's, by definition)."""
    while True:
        data = b"".join(
            rng.choice(JUNK_PIECES) if rng.random() < 0.5 else bytes([rng.randrange(256)])
            for _ in range(rng.randrange(0, 12))
        )
        if first_start(data + b"\r\n") is None:
            return data


def message(rng: random.Random, marker: bytes, *, request: bool) -> bytes:
    packed = gzip.compress(b'{"id":"' + marker + b'"}')
    if rng.random() < 0.5:
        pieces = [packed[: len(packed) // 2], packed[len(packed) // 2 :]]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        framing = b"Transfer-Encoding: chunked\r\n"
    else:
        body, framing = packed, b"Content-Length: %d\r\n" % len(packed)
    start = b"POST /m HTTP/1.1\r\nHost: h\r\n" if request else b"HTTP/1.1 200 OK\r\n"
    return start + b"Content-Encoding: gzip\r\n" + framing + b"\r\n" + body


def found_markers(messages: list[HttpMessage]) -> set[bytes]:
    found = set()
    for m in messages:
        # http_readers leave the decoding to the inspection (within the flow's budget).
        decoded = m.coding.decoded(1 << 26).layers if m.coding is not None else []
        for _, content in [*m.layers(), *decoded]:
            found.update(part[:8] for part in content.split(b'"id":"')[1:])
    return found


@pytest.mark.parametrize("seed", range(300))
def test_junk_between_messages_never_raises_nor_hides_the_next_message(seed: int) -> None:
    rng = random.Random(seed)
    streams: dict[bool, bytes] = {}
    wanted: set[bytes] = set()
    for request in (True, False):
        stream = b""
        for index in range(rng.randrange(1, 6)):
            marker = b"%c%03d%04d" % (b"QR"[request], seed % 1000, index)
            wanted.add(marker[:8])
            stream += junk(rng) + message(rng, marker, request=request)
        streams[request] = stream + junk(rng)
    facts, messages = Facts(), []
    to_server, to_client = http_readers(
        facts, lambda m, f: messages.append(m), lambda m, f: messages.append(m)
    )
    for reader, stream in ((to_server, streams[True]), (to_client, streams[False])):
        at = 0
        while at < len(stream):
            size = rng.choice((1, 2, 7, 64, 1400, 100_000))
            reader.data(stream[at : at + size], at, 0.0)
            at += size
        reader.close(at)
    assert found_markers(messages) >= wanted
    assert all(not m.coding.decoded(1 << 26).error for m in messages if m.coding is not None)


def test_a_request_body_is_read_for_messages_too() -> None:
    inner = b"PUT /in HTTP/1.1\r\nHost: inner\r\nContent-Length: 3\r\n\r\nabc"
    outer = b"POST /out HTTP/1.1\r\nHost: outer\r\nContent-Length: %d\r\n\r\n" % (len(inner) + 2)
    messages, facts = read(outer + b"\x00\x00" + inner)
    assert sorted((m.target, m.inside, m.body) for m in messages) == [
        ("/in", True, b"abc"),
        ("/out", False, b"\x00\x00" + inner),
    ]
    inside = next(m for m in messages if m.inside)
    assert inside.start == len(outer) + 2  # the stream's offset
    assert facts.http is not None and facts.http.host == "outer"


@pytest.mark.parametrize(
    "pieces",
    [
        (b"\x00HTTP/1.1 2", b"00 OK\r\nContent-Length: 0\r\n\r\n"),  # an anchor that waits
        (b"\x00\nHTTP/1", b".1 200 OK\r\nContent-Length: 0\r\n\r\n"),  # one split in two
        (b"x\nGET /a", b"bc HTTP/1.1\r\n\r\n"),  # a request line's front, kept
        (b"\xff" * 3000 + b"\n" + b"\x01" * 100, b"\n\x02\nHTTP/1.1 204 \r\n\r\n"),
    ],
)
def test_segments_skimmed_while_looking_never_lose_a_start_line(pieces: tuple[bytes, ...]) -> None:
    parser = HttpStreamParser("response", resync=True)
    messages = [m for piece in pieces for m in parser.feed(piece)]
    assert len(messages) == 1
    assert messages[0].start == b"".join(pieces).index(
        b"HTTP/1.1" if b"GET" not in pieces[0] else b"GET"
    )
