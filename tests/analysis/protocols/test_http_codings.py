"""``LayerStream``: every layer of a body decoded at once, chunk by chunk, within a limit.

It must give what the layer-by-layer decoding gives, stop every coding's bomb at
its limit exactly, hand on bounded chunks, and never raise on hostile bytes.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.budget import MAX_CODINGS
from benches.analysis.protocols.http_codings import (
    OUTPUT_CHUNK,
    BodyCoding,
    LayerStream,
    decode_layers,
)

SECRET = b'{"imei":"352098100123452"}' + os.urandom(3000).hex().encode()


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def streamed(coding: BodyCoding, limit: int = 1 << 30) -> tuple[LayerStream, dict[str, bytes]]:
    stream = LayerStream(coding, limit)
    layers: dict[str, bytearray] = {label: bytearray() for label in stream.labels}
    for index, chunk in stream.chunks():
        assert len(chunk) <= 2 * OUTPUT_CHUNK or stream.labels[index].endswith("zstd")
        layers[stream.labels[index]] += chunk
    return stream, {label: bytes(data) for label, data in layers.items()}


def coding(body: bytes, content: list[str], *, chunked: bool = False) -> BodyCoding:
    return BodyCoding.of(body, chunked=chunked, transfer=[], content=content)


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_each_coding_streams_what_it_decodes_whole(name: str) -> None:
    body = ENCODERS[name](SECRET * 50)
    stream, layers = streamed(coding(body, [name]))
    assert layers == {name: SECRET * 50}
    assert stream.error is None and not stream.capped and stream.decoded == len(SECRET) * 50
    eager = decode_layers(body, chunked=False, transfer=[], content=[name], limit=1 << 30)
    assert eager.layers == [(name, SECRET * 50)]


def test_raw_deflate_multi_member_gzip_and_nested_layers() -> None:
    assert streamed(coding(raw_deflate(SECRET), ["deflate"]))[1] == {"deflate": SECRET}
    members = gzip.compress(SECRET[:10]) + gzip.compress(SECRET[10:])
    assert streamed(coding(members, ["gzip"]))[1] == {"gzip": SECRET}
    both = brotli.compress(gzip.compress(SECRET))
    stream, layers = streamed(coding(both, ["gzip", "br"], chunked=True))
    assert list(layers) == ["chunked", "chunked+br", "chunked+br+gzip"]
    assert layers["chunked"] == both and layers["chunked+br+gzip"] == SECRET
    assert stream.decoded == len(gzip.compress(SECRET)) + len(SECRET)  # chunked: not decoding


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_a_bomb_stops_at_the_limit_exactly(name: str) -> None:
    body = ENCODERS[name](bytes(16 << 20))
    stream, layers = streamed(coding(body, [name]), limit=1 << 20)
    assert stream.capped and stream.decoded == 1 << 20
    assert layers[name] == bytes(1 << 20)


def test_the_limit_covers_all_layers_together() -> None:
    inner = gzip.compress(bytes(4 << 20))
    stream, layers = streamed(coding(brotli.compress(inner), ["gzip", "br"]), limit=1 << 20)
    assert stream.capped and stream.decoded == 1 << 20
    assert sum(map(len, layers.values())) == 1 << 20
    assert layers["br+gzip"]  # both layers decoded side by side, not one then the other


def test_a_spent_limit_decodes_nothing() -> None:
    stream, layers = streamed(coding(gzip.compress(SECRET), ["gzip"]), limit=0)
    assert stream.capped and stream.decoded == 0 and layers == {"gzip": b""}


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_garbage_is_an_error_not_an_exception(name: str) -> None:
    stream, layers = streamed(coding(b"\x00\x01garbage" * 3, [name]))
    assert stream.error is not None and stream.error.startswith(name)
    assert not stream.capped


def test_a_failing_inner_layer_leaves_the_outer_one_whole() -> None:
    outer = brotli.compress(b"\x1f\x8b not really gzip" + SECRET)
    stream, layers = streamed(coding(outer, ["gzip", "br"]))
    assert layers["br"] == b"\x1f\x8b not really gzip" + SECRET
    assert stream.error is not None and stream.error.startswith("gzip:")


def test_a_cut_body_keeps_what_it_decoded() -> None:
    text = SECRET + os.urandom(20000)
    stream, layers = streamed(coding(gzip.compress(text)[:-2000], ["gzip"]))
    assert layers["gzip"].startswith(SECRET) and stream.error is not None


def test_codings_past_the_bound_are_refused() -> None:
    body = SECRET
    for _ in range(MAX_CODINGS + 2):
        body = gzip.compress(body)
    stream, layers = streamed(coding(body, ["gzip"] * (MAX_CODINGS + 2)))
    assert len(layers) == MAX_CODINGS
    assert (
        stream.error == f"{MAX_CODINGS + 2} codings, more than {MAX_CODINGS}: the rest not removed"
    )


def test_unsupported_coding() -> None:
    stream, layers = streamed(coding(b"abc", ["compress"]))
    assert layers == {} and stream.error == "unsupported coding 'compress'"


@given(
    data=st.binary(max_size=2000),
    names=st.lists(st.sampled_from([*ENCODERS, "identity", "x-gzip"]), max_size=6),
    chunked=st.booleans(),
    limit=st.integers(0, 1 << 16),
)
@settings(max_examples=200, deadline=None)
def test_random_bodies_never_raise_and_stay_within_the_limit(
    data: bytes, names: list[str], chunked: bool, limit: int
) -> None:
    stream, layers = streamed(coding(data, names, chunked=chunked), limit)
    assert stream.decoded <= limit
    assert sum(len(v) for k, v in layers.items() if k != "chunked") == stream.decoded
