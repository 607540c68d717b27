"""Undo an HTTP body's transfer and content codings, one layer at a time, under a size cap.

Codings are listed in the order they were applied (``Content-Encoding: gzip, br``
means gzip first, then br; RFC 9110 section 8.4), so they are removed in
reverse. Every layer is kept: a detector searches each one. The first failure
stops the decoding; what it produced before failing is kept apart as the
partial layer. Nothing here raises on hostile bytes.

The cap bounds all decoded layers of a message together, so nested codings
cannot multiply it. Each decompressor is driven with a bound on its output
(zlib's ``max_length``, brotli's ``output_buffer_limit``) or, for zstd, fed
small slices of input, so a bomb costs at most the cap plus one slice's worth.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import brotli
import zstandard

INPUT_SLICE = 64 * 1024
ZSTD_INPUT_SLICE = 256  # a zstd block turns a few bytes into up to 128 KiB
ZSTD_MAX_WINDOW = 8 << 20  # RFC 9659 section 3: HTTP zstd windows stay within 8 MB


@dataclass
class Decoded:
    layers: list[tuple[str, bytes]] = field(default_factory=list)
    partial: tuple[str, bytes] | None = None  # the output of the layer that failed
    error: str | None = None
    capped: bool = False  # stopped at the size cap


@dataclass
class _Step:
    output: bytes
    error: str | None = None
    capped: bool = False


def decode_layers(
    data: bytes, *, chunked: bool, transfer: list[str], content: list[str], limit: int
) -> Decoded:
    """Every decoding of ``data`` (already de-chunked if ``chunked``), labelled by its chain."""
    result = Decoded()
    chain: list[str] = []
    if chunked:
        chain.append("chunked")
        result.layers.append(("chunked", data))
    budget = limit
    codings = [c for c in reversed([*transfer, *content]) if c != "identity"]
    for coding in codings:
        decoder = _DECODERS.get(coding)
        label = "+".join([*chain, coding])
        if decoder is None:
            result.error = f"unsupported coding {coding!r}"
            break
        try:
            step = decoder(data, budget)
        except Exception as exc:  # a decompressor raising something unexpected
            step = _Step(b"", f"{type(exc).__name__}: {exc}")
        if step.capped:
            result.capped = True
            result.error = f"{coding}: decoded size cap of {limit} bytes reached"
            result.partial = (label, step.output)
            break
        if step.error is not None:
            result.error = f"{coding}: {step.error}"
            if step.output:
                result.partial = (label, step.output)
            break
        chain.append(coding)
        result.layers.append((label, step.output))
        data = step.output
        budget -= len(step.output)
    return result


def _inflate(data: bytes, wbits: int, budget: int) -> tuple[_Step, bytes]:
    """One zlib/gzip/raw-deflate stream; also returns the bytes after its end."""
    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    position = 0
    pending = b""
    try:
        while not inflater.eof:
            if not pending:
                if position >= len(data):
                    break
                pending = data[position : position + INPUT_SLICE]
                position += INPUT_SLICE
            out += inflater.decompress(pending, budget - len(out) + 1)
            pending = inflater.unconsumed_tail
            if len(out) > budget:
                return _Step(bytes(out[:budget]), capped=True), b""
    except zlib.error as exc:
        return _Step(bytes(out), str(exc)), b""
    if not inflater.eof:
        return _Step(bytes(out), "data ends before the end of the compressed stream"), b""
    return _Step(bytes(out)), inflater.unused_data + data[position:]


def _gunzip(data: bytes, budget: int) -> _Step:
    out = b""
    rest = data
    while True:  # a gzip body may hold several members (RFC 1952 section 2.2)
        step, rest = _inflate(rest, 16 + zlib.MAX_WBITS, budget - len(out))
        out += step.output
        if step.error is not None or step.capped:
            return _Step(out, step.error, step.capped)
        if not rest.startswith(b"\x1f\x8b"):
            return _Step(out)  # trailing padding or garbage after the last member is ignored


def _inflate_deflate(data: bytes, budget: int) -> _Step:
    # "deflate" is meant to be zlib-wrapped (RFC 9110 section 8.4.1.2), but servers
    # also send raw deflate: try the form the first two bytes suggest, then the other.
    wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
    first = zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
    second = -first
    step, _ = _inflate(data, first, budget)
    if step.error is not None and not step.output:
        retry, _ = _inflate(data, second, budget)
        if retry.error is None or retry.output:
            return retry
    return step


def _unbrotli(data: bytes, budget: int) -> _Step:
    decompressor = brotli.Decompressor()
    out = bytearray()
    try:
        for position in range(0, len(data), INPUT_SLICE):
            out += decompressor.process(
                data[position : position + INPUT_SLICE], output_buffer_limit=budget - len(out) + 1
            )
            while len(out) <= budget and not decompressor.can_accept_more_data():
                more = decompressor.process(b"", output_buffer_limit=budget - len(out) + 1)
                if not more:
                    break
                out += more
            if len(out) > budget:
                return _Step(bytes(out[:budget]), capped=True)
    except brotli.error as exc:
        return _Step(bytes(out), str(exc) or "invalid brotli data")
    if not decompressor.is_finished():
        return _Step(bytes(out), "data ends before the end of the compressed stream")
    return _Step(bytes(out))


def _unzstd(data: bytes, budget: int) -> _Step:
    context = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    out = bytearray()
    rest = data
    try:
        while rest:  # one frame after another (RFC 8878 section 3.1)
            frame = context.decompressobj()
            position = 0
            while not frame.eof and position < len(rest):
                out += frame.decompress(rest[position : position + ZSTD_INPUT_SLICE])
                position += ZSTD_INPUT_SLICE
                if len(out) > budget:
                    return _Step(bytes(out[:budget]), capped=True)
            if not frame.eof:
                return _Step(bytes(out), "data ends before the end of the compressed stream")
            rest = frame.unused_data + rest[position:]
    except zstandard.ZstdError as exc:
        return _Step(bytes(out), str(exc))
    return _Step(bytes(out))


_DECODERS = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate_deflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}
