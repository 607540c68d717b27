"""The incremental HTTP/1.x parser: framing, every coding, caps, and hostile bytes."""

from __future__ import annotations

import gzip
import os
import zlib
from collections import deque
from collections.abc import Iterable

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.http import (
    HttpConversation,
    HttpLimits,
    HttpMessage,
    HttpStreamParser,
    RequestHint,
)
from tests.support.pcaps import client_hello

SECRET = b'{"imei":"352098100123452","iccid":"89358051000000000111"}'


def request(
    body: bytes = b"", *, target: str = "/activate", host: str = "zfhmd.vnet.cn", **headers: str
) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if "Transfer_Encoding" not in headers and body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, size: int = 7, *, trailers: bytes = b"") -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    framed = b"".join(b"%x;note=x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return framed + b"0\r\n" + trailers + b"\r\n"


def parse(stream: bytes, direction: str = "request", **kwargs: object) -> list[HttpMessage]:
    parser = HttpStreamParser(direction, **kwargs)  # type: ignore[arg-type]
    return parser.feed(stream) + parser.finish()


def feed_in_pieces(stream: bytes, cuts: Iterable[int], direction: str = "request") -> list:
    parser = HttpStreamParser(direction)  # type: ignore[arg-type]
    messages: list[HttpMessage] = []
    start = 0
    for cut in sorted(set(cuts)):
        messages += parser.feed(stream[start:cut])
        start = cut
    messages += parser.feed(stream[start:])
    return [summary(m) for m in messages + parser.finish()]


def summary(m: HttpMessage) -> tuple:
    return (
        m.method or m.status,
        m.start,
        m.end,
        m.body,
        m.decoded_bodies,
        m.partial_layer,
        m.truncated,
        list(m.trailers),
        list(m.headers),
    )


# --- start line, headers, Content-Length -----------------------------------------------


def test_request_with_a_body() -> None:
    [message] = parse(request(SECRET, host="ZFHMD.vnet.cn:80", X_Test="a"))
    assert (message.method, message.target, message.version) == ("POST", "/activate", "HTTP/1.1")
    assert message.host == "zfhmd.vnet.cn"
    assert message.headers.get("x-test") == message.headers.get("X-TEST") == "a"
    assert message.headers.get("absent") is None
    assert message.body == SECRET
    assert message.decoded_bodies == []
    assert message.layers() == [("raw", SECRET)]
    assert (message.start, message.end) == (
        0,
        len(request(SECRET, host="ZFHMD.vnet.cn:80", X_Test="a")),
    )
    assert not message.truncated and message.is_request


def test_get_has_no_body_and_bare_lf_folding_and_absolute_form_work() -> None:
    stream = (
        b"\r\nGET http://Fota.Vendor.Example:8080/x?imei=1 HTTP/1.0\n"
        b"X-Long: one\n two\nNoColonLine\n\n"
    )
    [message] = parse(stream)
    assert message.host == "fota.vendor.example"
    assert message.headers == [("X-Long", "one two")]
    assert message.body == b"" and message.start == 2


def test_pipelined_requests_in_one_chunk() -> None:
    stream = request(b"one") + b"GET /two HTTP/1.1\r\nHost: b\r\n\r\n" + request(b"three")
    messages = HttpStreamParser("request").feed(stream)
    assert [(m.method, m.body) for m in messages] == [
        ("POST", b"one"),
        ("GET", b""),
        ("POST", b"three"),
    ]
    assert messages[1].start == messages[0].end and messages[2].end == len(stream)


def test_responses_follow_their_requests() -> None:
    conversation = HttpConversation()
    requests = (
        b"HEAD /h HTTP/1.1\r\nHost: a.example\r\n\r\n"
        + request(SECRET, Expect="100-continue")
        + b"GET /nc HTTP/1.1\r\nHost: c.example\r\n\r\n"
        + b"GET /nm HTTP/1.1\r\nHost: c.example\r\n\r\n"
        + b"GET /last HTTP/1.1\r\nHost: c.example\r\n\r\n"
    )
    assert len(conversation.requests.feed(requests)) == 5
    responses = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"  # HEAD: no body despite the length
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 204 No Content\r\n\r\n"
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
        b"HTTP/1.1 200\r\n\r\nuntil the end"
    )
    messages = conversation.responses.feed(responses) + conversation.responses.finish()
    assert [(m.status, m.request_method, m.body) for m in messages] == [
        (200, "HEAD", b""),
        (100, None, b""),
        (201, "POST", b"ok"),
        (204, "GET", b""),
        (304, "GET", b""),
        (200, "GET", b"until the end"),
    ]
    assert messages[1].interim and messages[0].host == "a.example"
    assert messages[-1].reason is None and not messages[-1].truncated


def test_response_hints_without_a_conversation() -> None:
    pending = deque([RequestHint("HEAD", "a.example")])
    parser = HttpStreamParser("response", pending=pending)
    [message] = parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
    assert (message.request_method, message.host, message.body) == ("HEAD", "a.example", b"")


# --- codings ---------------------------------------------------------------------

ENCODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_each_content_coding(coding: str) -> None:
    [message] = parse(request(ENCODERS[coding](SECRET), Content_Encoding=coding))
    assert message.decoded_bodies == [(coding, SECRET)]
    assert message.decode_error is None and not message.bomb


def test_raw_deflate_is_accepted_too() -> None:
    [message] = parse(request(raw_deflate(SECRET), Content_Encoding="deflate"))
    assert message.decoded_bodies == [("deflate", SECRET)]


def test_nested_codings_are_removed_in_reverse_and_every_layer_is_kept() -> None:
    gzipped = gzip.compress(SECRET)
    both = brotli.compress(gzipped)  # gzip applied first, then br
    body = chunked(both, trailers=b"X-Checksum: 1\r\n")
    [message] = parse(
        request(body, Transfer_Encoding="chunked", Content_Encoding="gzip, identity, br")
    )
    assert message.body == body
    assert message.decoded_bodies == [
        ("chunked", both),
        ("chunked+br", gzipped),
        ("chunked+br+gzip", SECRET),
    ]
    assert message.trailers.get("x-checksum") == "1"
    assert [label for label, _ in message.layers()] == [
        "raw",
        "chunked",
        "chunked+br",
        "chunked+br+gzip",
    ]


def test_content_encoding_split_over_two_fields() -> None:
    body = zstandard.ZstdCompressor().compress(zlib.compress(SECRET))
    stream = request(body, Content_Encoding="deflate").replace(
        b"\r\n\r\n", b"\r\ncontent-encoding: zstd\r\n\r\n", 1
    )
    [message] = parse(stream)
    assert message.decoded_bodies[-1] == ("zstd+deflate", SECRET)


def test_transfer_coding_gzip_under_chunked() -> None:
    body = chunked(gzip.compress(SECRET))
    [message] = parse(request(body, Transfer_Encoding="gzip, chunked"))
    assert [label for label, _ in message.decoded_bodies] == ["chunked", "chunked+gzip"]
    assert message.decoded_bodies[-1][1] == SECRET


def test_multi_member_gzip_and_multi_frame_zstd() -> None:
    members = gzip.compress(SECRET[:10]) + gzip.compress(SECRET[10:])
    assert parse(request(members, Content_Encoding="gzip"))[0].decoded_bodies[0][1] == SECRET
    zstd = zstandard.ZstdCompressor()
    frames = zstd.compress(SECRET[:10]) + zstd.compress(SECRET[10:])
    assert parse(request(frames, Content_Encoding="zstd"))[0].decoded_bodies[0][1] == SECRET


def test_a_decoding_error_keeps_the_last_good_layer() -> None:
    broken = brotli.compress(b"\x1f\x8b not really gzip")
    [message] = parse(
        request(chunked(broken), Transfer_Encoding="chunked", Content_Encoding="gzip, br")
    )
    assert [label for label, _ in message.decoded_bodies] == ["chunked", "chunked+br"]
    assert message.decode_error is not None and message.decode_error.startswith("gzip:")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_garbage_under_each_coding_is_flagged(coding: str) -> None:
    [message] = parse(request(b"\x00\x01garbage" * 3, Content_Encoding=coding))
    assert message.decoded_bodies == []
    assert message.decode_error is not None and message.decode_error.startswith(coding)


def test_a_cut_compressed_body_keeps_what_it_decoded() -> None:
    text = SECRET + os.urandom(20000)
    cut = gzip.compress(text)[:-2000]
    [message] = parse(request(cut, Content_Encoding="gzip"))
    assert message.decoded_bodies == []
    assert message.partial_layer is not None
    label, partial = message.partial_layer
    assert label == "gzip" and partial.startswith(SECRET)
    assert ("gzip", partial) in message.layers()


def test_unsupported_coding() -> None:
    [message] = parse(request(b"abc", Content_Encoding="compress"))
    assert message.decoded_bodies == [] and message.decode_error == "unsupported coding 'compress'"


# --- caps ------------------------------------------------------------------------

BOMB = bytes(8 << 20)


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_decompression_bomb_is_capped(coding: str) -> None:
    limits = HttpLimits(max_decoded=1 << 20)
    [message] = parse(request(ENCODERS[coding](BOMB), Content_Encoding=coding), limits=limits)
    assert message.bomb
    assert message.decoded_bodies == []
    assert message.partial_layer == (coding, bytes(1 << 20))


def test_the_decoded_cap_covers_all_layers_together() -> None:
    inner = gzip.compress(bytes(600_000))
    outer = brotli.compress(inner)
    limits = HttpLimits(max_decoded=600_000)
    [message] = parse(request(outer, Content_Encoding="gzip, br"), limits=limits)
    assert message.decoded_bodies == [("br", inner)]
    assert message.bomb and message.partial_layer is not None
    assert len(inner) + len(message.partial_layer[1]) == 600_000


def test_a_body_over_the_cap_is_cut_and_the_stream_goes_on() -> None:
    limits = HttpLimits(max_body=1000)
    big = b"x" * 5000
    stream = request(big) + request(chunked(big, 999), Transfer_Encoding="chunked") + request(b"ok")
    messages = parse(stream, limits=limits)
    assert [(len(m.body), m.truncated) for m in messages] == [
        (1000, True),
        (1000, True),
        (2, False),
    ]
    assert "skipped 4000" in messages[0].notes[0]
    assert messages[1].decoded_bodies[0][0] == "chunked"
    assert messages[2].body == b"ok" and messages[2].end == len(stream)


def test_a_header_block_over_the_cap_switches_the_parser_off() -> None:
    parser = HttpStreamParser("request", limits=HttpLimits(max_head=1024))
    assert parser.feed(b"GET / HTTP/1.1\r\nX: " + b"a" * 2000) == []
    assert not parser.active and parser.off_reason is not None and "header" in parser.off_reason


# --- truncation and the end of the stream ----------------------------------------------


def test_stream_ends_inside_a_content_length_body() -> None:
    parser = HttpStreamParser("request")
    assert parser.feed(request(SECRET)[:-5]) == []
    [message] = parser.finish()
    assert message.truncated and message.body == SECRET[:-5]
    assert message.notes == ["the stream ended inside the body"]
    assert parser.feed(b"more") == [] and parser.finish() == []


def test_stream_ends_inside_a_chunked_body() -> None:
    stream = request(chunked(SECRET), Transfer_Encoding="chunked")
    [message] = parse(stream[:-20])
    assert message.truncated
    assert message.decoded_bodies[0][1] == SECRET[: len(message.decoded_bodies[0][1])]


def test_stream_ends_inside_the_header_block() -> None:
    [message] = parse(b"POST /activate?imei=352098100123452 HTTP/1.1\r\nHost: zfhmd.vnet.cn\r\nX-A")
    assert message.truncated and message.host == "zfhmd.vnet.cn"
    assert message.target == "/activate?imei=352098100123452"
    assert parse(b"POST /activate?imei=35209") == []  # no whole start line: nothing to report


def test_finish_on_an_idle_stream() -> None:
    assert parse(b"") == []
    assert parse(request(b"a") + b"\r\n") == parse(request(b"a"))


# --- switching off -----------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        client_hello("fota.vendor.example"),
        b"\x00\x01\x02\x03",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"get / HTTP/1.1\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
    ],
    ids=["tls", "binary", "h2-preface", "lowercase", "ssh", "bad-line"],
)
def test_non_http_switches_the_parser_off(stream: bytes) -> None:
    parser = HttpStreamParser("request")
    assert parser.feed(stream) == []
    assert not parser.active
    assert parser.off_reason is not None and not parser.off_reason.startswith("internal")


def test_the_first_byte_is_enough() -> None:
    for direction, byte in (("request", b"\x16"), ("response", b"G")):
        parser = HttpStreamParser(direction)  # type: ignore[arg-type]
        parser.feed(byte)
        assert not parser.active


def test_garbage_after_good_messages() -> None:
    parser = HttpStreamParser("request")
    assert len(parser.feed(request(b"a") + b"\x16\x03\x01")) == 1
    assert parser.off_reason == "not HTTP/1.x after message 1 of the stream"


@pytest.mark.parametrize(
    ("requests", "responses", "reason"),
    [
        (b"CONNECT a:443 HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n\x16\x03", "CONNECT tunnel"),
        (
            b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05",
            "switched protocols (101)",
        ),
    ],
)
def test_tunnels_switch_the_parser_off(requests: bytes, responses: bytes, reason: str) -> None:
    conversation = HttpConversation()
    conversation.requests.feed(requests)
    assert len(conversation.responses.feed(responses)) == 1
    assert conversation.responses.off_reason == reason


@pytest.mark.parametrize(
    "stream",
    [
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
    ],
)
def test_bad_framing_returns_the_message_truncated_and_stops(stream: bytes) -> None:
    parser = HttpStreamParser("request")
    [message] = parser.feed(stream)
    assert message.truncated and not parser.active


# --- any split of the stream gives the same messages ---------------------------------

PIPELINE = (
    request(chunked(gzip.compress(SECRET), 5, trailers=b"T: 1\r\n"), Transfer_Encoding="chunked")
    + request(brotli.compress(SECRET), Content_Encoding="br")
    + b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
)
RESPONSES = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(SECRET, 3)
    + b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd"
    + b"HTTP/1.0 200 OK\r\n\r\nthe rest"
)  # fmt: skip


def test_every_single_split_point_gives_the_same_messages() -> None:
    for stream, direction in ((PIPELINE, "request"), (RESPONSES, "response")):
        whole = feed_in_pieces(stream, [], direction)
        assert len(whole) == 3
        for cut in range(len(stream) + 1):
            assert feed_in_pieces(stream, [cut], direction) == whole, cut


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, len(PIPELINE)), max_size=40))
def test_any_splits_give_the_same_messages(cuts: list[int]) -> None:
    assert feed_in_pieces(PIPELINE, cuts) == feed_in_pieces(PIPELINE, [])


def test_one_byte_at_a_time() -> None:
    assert feed_in_pieces(PIPELINE, range(len(PIPELINE))) == feed_in_pieces(PIPELINE, [])


# --- fuzz ----------------------------------------------------------------------------


def _never_breaks(stream: bytes, cuts: list[int], direction: str) -> None:
    parser = HttpStreamParser(direction, limits=HttpLimits(max_body=4096, max_decoded=65536))  # type: ignore[arg-type]
    start = 0
    for cut in sorted(cuts):
        parser.feed(stream[start:cut])
        start = cut
    parser.feed(stream[start:])
    parser.finish()
    assert not (parser.off_reason or "").startswith("internal error"), parser.off_reason


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["request", "response"]))
def test_random_bytes_never_raise(data: bytes, direction: str) -> None:
    _never_breaks(data, [], direction)
    _never_breaks(b"POST / HTTP/1.1\r\n" + data, [], direction)
    _never_breaks(b"HTTP/1.1 200 OK\r\n" + data, [], direction)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_messages_never_raise(data: st.DataObject) -> None:
    stream = bytearray(data.draw(st.sampled_from([PIPELINE, RESPONSES])))
    for _ in range(data.draw(st.integers(0, 8))):
        index = data.draw(st.integers(0, len(stream) - 1))
        stream[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(stream)))
    cuts = data.draw(st.lists(st.integers(0, cut), max_size=5))
    _never_breaks(bytes(stream[:cut]), cuts, data.draw(st.sampled_from(["request", "response"])))
