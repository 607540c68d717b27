"""``sniff``: the coding a body's first bytes announce (gzip, zlib, zstd), and the
LayerStream stage that decodes it once the labelled codings are removed."""

from __future__ import annotations

import gzip
import zlib

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.budget import MAX_CODINGS
from benches.analysis.protocols.http_codings import BodyCoding, LayerStream
from benches.analysis.protocols.sniff import MAGIC_STARTS, SNIFF_LENGTH, sniff, sniffed

SECRET = b'{"imei":"352098100123452"}' * 40


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (gzip.compress(SECRET, mtime=0), "gzip"),  # mtime 0: the same test id in every process
        (zlib.compress(SECRET, 1), "zlib"),
        (zlib.compress(SECRET, 6), "zlib"),
        (zlib.compress(SECRET, 9), "zlib"),
        (zlib.compress(SECRET, 0), "zlib"),
        (zstd(SECRET), "zstd"),
    ],
)
def test_each_magic_is_named(data: bytes, name: str) -> None:
    assert sniff(data) == name
    assert sniffed(data) == f"sniffed-{name}"
    assert data.startswith(MAGIC_STARTS)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x1f", b"x", b"xy", b"x\x9d", b"(\xb5/", b'{"imei"', b"POST / HTTP/1.1", b"\x16\x03"],
)
def test_other_starts_are_not_named(data: bytes) -> None:
    assert sniff(data) is None


@given(st.binary(max_size=16))
@settings(max_examples=2000, deadline=None)
def test_the_cheap_check_lets_every_sniffed_start_through(data: bytes) -> None:
    """MAGIC_STARTS is the hot path's filter: it must never hide a start sniff() names."""
    if sniff(data) is not None:
        assert data.startswith(MAGIC_STARTS)
    assert sniff(data) == sniff(data[:SNIFF_LENGTH])


def decode(coding: BodyCoding, limit: int = 1 << 24) -> tuple[LayerStream, dict[str, bytes]]:
    stream = LayerStream(coding, limit, sniff=True)
    layers: dict[str, bytes] = {}
    for index, chunk in stream.chunks():
        label = stream.labels[index]
        layers[label] = layers.get(label, b"") + chunk
    return stream, layers


def test_an_unlabelled_body_that_starts_like_gzip_is_decoded() -> None:
    stream, layers = decode(BodyCoding(gzip.compress(SECRET), False, ()))
    assert layers == {"sniffed-gzip": SECRET}
    assert stream.error is None


def test_a_chunked_body_is_sniffed_after_the_chunks() -> None:
    _, layers = decode(BodyCoding(zstd(SECRET), True, ()))
    assert layers["chunked+sniffed-zstd"] == SECRET


def test_what_the_labelled_codings_leave_is_sniffed() -> None:
    body = gzip.compress(zlib.compress(SECRET))
    _, layers = decode(BodyCoding(body, False, ("gzip",)))
    assert layers["gzip+sniffed-zlib"] == SECRET


def test_sniffing_is_off_unless_asked() -> None:
    stream = LayerStream(BodyCoding(gzip.compress(SECRET), False, ()), 1 << 20)
    assert list(stream.chunks()) == []


def test_no_sniff_under_unremovable_or_too_many_codings() -> None:
    inner = gzip.compress(SECRET)
    _, layers = decode(BodyCoding(inner, False, ("compress",)))
    assert layers == {}
    body = inner
    for _ in range(MAX_CODINGS):
        body = gzip.compress(body)
    _, layers = decode(BodyCoding(body, False, ("gzip",) * MAX_CODINGS))
    assert not any("sniffed" in label for label in layers)


def test_garbage_after_a_magic_is_a_failure_not_an_exception() -> None:
    stream, layers = decode(BodyCoding(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, False, ()))
    assert stream.failure is not None and stream.failure[0] == "sniffed-gzip"
    assert "sniffed-gzip" not in layers or len(layers["sniffed-gzip"]) < 1024


def test_a_sniffed_bomb_stops_at_the_limit() -> None:
    stream, layers = decode(BodyCoding(zstd(bytes(8 << 20)), False, ()), limit=1 << 20)
    assert stream.capped and stream.decoded == 1 << 20
    assert len(layers["sniffed-zstd"]) == 1 << 20


def test_a_stream_fed_piece_by_piece_gives_what_the_whole_gives() -> None:
    data = zstd(SECRET * 50)
    stream = LayerStream(BodyCoding(b"", False, ("sniffed-zstd",)), 1 << 24)
    out = b""
    for start in range(0, len(data), 7):
        out += b"".join(chunk for _, chunk in stream.feed(data[start : start + 7]))
    out += b"".join(chunk for _, chunk in stream.end())
    assert out == SECRET * 50 and stream.error is None


@given(st.sampled_from([b"\x1f\x8b", b"\x78\x9c", b"\x78\x01", b"\x28\xb5\x2f\xfd"]), st.binary())
@settings(max_examples=400, deadline=None)
def test_any_bytes_after_a_magic_never_raise_and_stay_bounded(magic: bytes, tail: bytes) -> None:
    limit = 64 * 1024
    stream, layers = decode(BodyCoding(magic + tail, False, ()), limit=limit)
    assert stream.decoded <= limit
    assert sum(map(len, layers.values())) <= limit
