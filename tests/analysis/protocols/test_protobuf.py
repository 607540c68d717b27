"""The protobuf walker (protocols/protobuf.py): each wire type written out as text, gRPC
framing, the bounds, and fuzzing for crashes and for work linear in the body."""

from __future__ import annotations

import base64
import gzip
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.protobuf import (
    MAX_DEPTH,
    MAX_FIELDS,
    body_kind,
    transcribe,
)
from tests.support.protobufs import (
    field_bytes,
    field_double,
    field_float,
    field_sfixed32,
    field_sint,
    field_varint,
    grpc_frame,
    random_message,
    varint,
)

BIG = 1 << 24


def lines(data: bytes) -> list[str]:
    found = transcribe("protobuf", data, BIG)
    assert found.error is None, found.error
    return found.text.decode("utf-8", "replace").splitlines()


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("application/x-protobuf", "protobuf"),
        ("Application/Protobuf; charset=binary", "protobuf"),
        ("application/grpc", "grpc"),
        ("application/grpc+proto", "grpc"),
        ("application/grpc-web+proto", "grpc"),
        ("application/grpc-web-text", "grpc-web-text"),
        ("application/json", None),
        (None, None),
    ],
)
def test_body_kind(content_type: str | None, kind: str | None) -> None:
    assert body_kind(content_type) == kind


def test_each_wire_type() -> None:
    data = (
        field_varint(1, 601_699_000)
        + field_sint(2, -249_384_000)
        + field_varint(3, -1_224_000_000)  # a negative int32: ten bytes
        + field_double(4, 60.1699)
        + field_float(5, 24.9384)
        + field_sfixed32(6, -5)
        + field_bytes(7, b"plain text")
        + field_bytes(8, field_varint(1, 60_169_900))  # a nested message, E6
        + field_bytes(9, b"\xff\xfe\x00")  # bytes: no message, no text
    )
    assert lines(data) == [
        "1: 601699000 z=300849500",
        "2: 498767999 z=-249384000",
        "3: 18446744072485551616 i=-1224000000 z=9223372036242775808",
        "4: 4633664977910090642 d=60.1699",
        "5: 1103593944 f=24.9384",
        "6: 4294967291 i=-5",  # its float is a NaN: not written
        '7: "plain text"',
        "8.1: 60169900 z=30084950 e6=60.169900 e6=30.084950",
        '9: "\ufffd\ufffd\x00"',
    ]


def test_text_that_also_parses_is_written_both_ways() -> None:
    nested = field_varint(4, 60)  # b" <": printable
    assert lines(field_bytes(1, nested)) == ["1.4: 60 z=30", '1: " <"']


def test_not_protobuf() -> None:
    found = transcribe("protobuf", b'{"imei": "1"}', BIG)
    assert found.text == b""
    assert found.error is not None and found.error.startswith("the body is not protobuf: ")
    [(kind, detail)] = found.notes("the POST at frame 4")
    assert kind == DECODER_GAVE_UP
    assert detail.startswith("protobuf body of the POST at frame 4 could not be read: ")


@pytest.mark.parametrize(
    "data",
    [
        varint(1 << 3) + b"\xff" * 11,  # a varint over 10 bytes
        varint(1 << 3 | 2) + varint(100) + b"short",  # a length past the end
        varint(1 << 3 | 1) + b"1234",  # a fixed64 cut short
        varint(1 << 3 | 3),  # a group
        b"\x00\x01",  # field number 0
    ],
)
def test_broken_messages_are_refused(data: bytes) -> None:
    found = transcribe("protobuf", data, BIG)
    assert found.error is not None and found.text == b""


def test_the_fields_before_a_cut_are_read() -> None:
    data = field_varint(1, 601_699_000) + field_varint(2, 249_384_000) + field_bytes(3, b"x" * 9)
    found = transcribe("protobuf", data[:-3], BIG)
    assert found.error == "the body is not protobuf: a length runs past the end"
    assert found.text == b"1: 601699000 z=300849500\n2: 249384000 z=124692000 e6=124.692000\n"


def test_grpc_frames_plain_and_compressed() -> None:
    first, second = field_varint(1, 5), field_bytes(2, b"hello")
    body = grpc_frame(first) + grpc_frame(second, compressed=True)
    found = transcribe("grpc", body, BIG, "gzip")
    assert (found.label, found.error, found.unread) == ("grpc+gzip+protobuf", None, None)
    assert found.text == b'1: 5 z=-3\n2: "hello"\n'
    assert found.inflated == len(second)
    assert found.cost == len(found.text) + len(second)


def test_grpc_deflate_and_web_text() -> None:
    message = field_bytes(1, b"hello")  # text that is no message ("hi" would be one too)
    deflated = zlib.compress(message)
    body = b"\x01" + len(deflated).to_bytes(4, "big") + deflated
    assert transcribe("grpc", body, BIG, "deflate").text == b'1: "hello"\n'
    trailers = b"grpc-status:0\r\n"
    framed = grpc_frame(message) + b"\x80" + len(trailers).to_bytes(4, "big") + trailers
    found = transcribe("grpc-web-text", base64.b64encode(framed), BIG)
    assert found.text == b'1: "hello"\ngrpc-status:0\r\n\n'


def test_grpc_with_an_unknown_encoding_is_unread() -> None:
    body = grpc_frame(field_varint(1, 5), compressed=True)
    found = transcribe("grpc", body, BIG, "snappy")
    assert found.text == b"" and found.unread == "gRPC message 1 is compressed with 'snappy'"
    assert [k for k, _ in found.notes("x")] == [DECODER_GAVE_UP]


def test_a_cut_grpc_message_is_read_as_far_as_it_goes() -> None:
    frame = grpc_frame(field_varint(1, 5) + field_varint(2, 6))
    found = transcribe("grpc", frame[:-2], BIG)
    assert found.error is not None and "says 4 bytes, 2 follow" in found.error


def test_a_grpc_bomb_stops_at_the_budget() -> None:
    bomb = gzip.compress(field_bytes(1, b"a" * (8 << 20)), mtime=0)
    body = b"\x01" + len(bomb).to_bytes(4, "big") + bomb
    found = transcribe("grpc", body, 1 << 20, "gzip")
    assert found.inflated <= (1 << 20) + 1
    assert found.cost <= (2 << 20) + 1
    assert found.text == b""  # the message is cut: it does not parse, nothing more


def test_the_text_stops_at_the_limit_and_says_so() -> None:
    data = b"".join(field_varint(1, n) for n in range(1000))
    found = transcribe("protobuf", data, 100)
    assert len(found.text) == 100 and found.capped is not None
    assert [k for k, _ in found.notes("x")] == [BUDGET_SPENT]


def test_nesting_past_the_depth_is_written_as_bytes() -> None:
    data = field_varint(1, 7)
    for _ in range(MAX_DEPTH + 5):
        data = field_bytes(2, data)
    found = transcribe("protobuf", data, BIG)
    assert found.error is None
    deepest = max(
        line.split(":")[0].count(".") for line in found.text.decode("latin-1").splitlines()
    )
    assert deepest == MAX_DEPTH - 1


def test_too_many_fields_stop_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    from benches.analysis.protocols import protobuf

    monkeypatch.setattr(protobuf, "MAX_FIELDS", 10)
    found = transcribe("protobuf", field_varint(1, 1) * 11, BIG)
    assert found.capped == "10 fields" and found.error is None
    assert MAX_FIELDS == 1 << 20


# --- fuzz ------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=2000), kind=st.sampled_from(["protobuf", "grpc", "grpc-web-text"]))
def test_garbage_never_raises_and_stays_bounded(data: bytes, kind: str) -> None:
    found = transcribe(kind, data, 5000, "gzip")
    assert len(found.text) <= 5000
    assert found.work <= MAX_DEPTH * max(len(data), 1) * 2  # base64 at most shrinks


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 1 << 30), flips=st.integers(0, 8))
def test_damaged_messages_never_raise(seed: int, flips: int) -> None:
    rng = random.Random(seed)
    data = bytearray(random_message(rng, 30, 3))
    for _ in range(flips if data else 0):
        data[rng.randrange(len(data))] = rng.randrange(256)
    found = transcribe("protobuf", bytes(data), BIG)
    assert found.work <= MAX_DEPTH * max(len(data), 1)


def nested_worst(levels: int, width: int) -> bytes:
    """Every level a message holding a message: the most walking per byte."""
    data = field_varint(1, 1) * width
    for _ in range(levels):
        data = field_bytes(1, data) + field_varint(2, 3)
    return data


def test_work_grows_linearly_with_the_body() -> None:
    one = nested_worst(20, 50)
    eight = nested_worst(20, 400)
    small, large = transcribe("protobuf", one, BIG), transcribe("protobuf", eight, BIG)
    assert small.work <= MAX_DEPTH * len(one)
    assert large.work <= MAX_DEPTH * len(eight)
    assert large.work / small.work < 1.5 * len(eight) / len(one)
