"""Undo an HTTP body's transfer and content codings, one layer at a time, under a size cap.

Codings are listed in the order they were applied (``Content-Encoding: gzip, br``
means gzip first, then br; RFC 9110 section 8.4), so they are removed in
reverse. Every layer is kept: a detector searches each one. The first failure
stops the decoding; what it produced before failing is kept apart as the
partial layer. Nothing here raises on hostile bytes.

Two ways to decode, over the same decoders (:class:`_Stage`):

- :func:`decode_layers` decodes layer after layer into memory, under a cap on
  all layers together (the HTTP parser's own, standalone API);
- :class:`LayerStream` decodes every layer at once, chunk by chunk of at most
  :data:`OUTPUT_CHUNK` bytes, each chunk of a layer fed on to the next: what the
  analyzer searches. Memory stays at a few chunks and the decoders' windows
  however large the layers are, and a bomb stops at its byte limit.

Each decompressor is driven with a bound on its output (zlib's ``max_length``,
brotli's ``output_buffer_limit``) or, for zstd, fed small slices of input (a
few bytes of zstd can say 128 KiB), so a bomb costs at most its limit plus one
slice's worth. At most :data:`~benches.analysis.protocols.budget.MAX_CODINGS`
codings are removed from one body.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain

import brotli
import zstandard

from benches.analysis.protocols.budget import MAX_CODINGS
from benches.analysis.protocols.sniff import (
    GZIP,
    MAGIC_STARTS,
    SNIFF_LENGTH,
    SNIFFED,
    ZLIB,
    ZSTD,
    sniffed,
)

INPUT_SLICE = 64 * 1024
OUTPUT_CHUNK = 1 << 20  # the most one decoder call hands on (zstd: see ZSTD_INPUT_SLICE)
ZSTD_INPUT_SLICE = 64  # a zstd block turns 4 bytes into up to 128 KiB: at most 2 MiB a call
ZSTD_MAX_WINDOW = 8 << 20  # RFC 9659 section 3: HTTP zstd windows stay within 8 MB


@dataclass
class Decoded:
    layers: list[tuple[str, bytes]] = field(default_factory=list)
    partial: tuple[str, bytes] | None = None  # the output of the layer that failed
    error: str | None = None
    capped: bool = False  # stopped at the size cap


@dataclass(frozen=True)
class BodyCoding:
    """A body to decode: its bytes (de-chunked) and the codings to remove, in order."""

    data: bytes
    chunked: bool
    codings: tuple[str, ...]  # removal order, "identity" left out

    @classmethod
    def of(
        cls, data: bytes, *, chunked: bool, transfer: list[str], content: list[str]
    ) -> BodyCoding:
        codings = tuple(c for c in reversed([*transfer, *content]) if c != "identity")
        return cls(data, chunked, codings)

    @property
    def labels(self) -> list[str]:
        """Each decoded layer's label ("chunked", "chunked+gzip", ...), as far as the
        codings can be removed (supported ones, at most MAX_CODINGS)."""
        chain = ["chunked"] if self.chunked else []
        labels = list(chain)
        for coding in self.codings[:MAX_CODINGS]:
            if coding not in _STAGES:
                break
            chain.append(coding)
            labels.append("+".join(chain))
        return labels

    def decoded(self, limit: int) -> Decoded:
        """Every layer in memory, as :func:`decode_layers` gives them (``limit``: all
        decoded layers together)."""
        return _decoded(self, limit)

    @property
    def unsupported(self) -> str | None:
        """The first coding within the bound that no decoder removes, if any."""
        return next((c for c in self.codings[:MAX_CODINGS] if c not in _STAGES), None)

    @property
    def refused(self) -> str | None:
        """Why decoding cannot go all the way, before any byte is decoded."""
        for number, coding in enumerate(self.codings):
            if number == MAX_CODINGS:
                return f"{len(self.codings)} codings, more than {MAX_CODINGS}: the rest not removed"
            if coding not in _STAGES:
                return f"unsupported coding {coding!r}"
        return None


def decode_layers(
    data: bytes, *, chunked: bool, transfer: list[str], content: list[str], limit: int
) -> Decoded:
    """Every decoding of ``data`` (already de-chunked if ``chunked``), labelled by its chain,
    each layer whole before the next is made; ``limit`` covers all of them together."""
    return BodyCoding.of(data, chunked=chunked, transfer=transfer, content=content).decoded(limit)


def _decoded(coding: BodyCoding, limit: int) -> Decoded:
    data, chunked = coding.data, coding.chunked
    result = Decoded()
    labels = coding.labels
    if chunked:
        result.layers.append((labels[0], data))
    budget = limit
    for number, name in enumerate(coding.codings[: len(labels) - chunked]):
        label = labels[number + chunked]
        stage = _STAGES[name]()
        out = bytearray()
        error = None
        try:
            for piece in chain(stage.feed_all(data), stage.end()):
                out += piece
                if len(out) > budget:
                    break
        except _Broken as broken:
            error = str(broken)
        if len(out) > budget:
            result.capped = True
            result.error = f"{name}: decoded size cap of {limit} bytes reached"
            result.partial = (label, bytes(out[:budget]))
            return result
        if error is not None:
            result.error = f"{name}: {error}"
            if out:
                result.partial = (label, bytes(out))
            return result
        result.layers.append((label, bytes(out)))
        data = bytes(out)
        budget -= len(out)
    result.error = coding.refused
    return result


class LayerStream:
    """Every decoded layer of one body, decoded together, chunk by chunk.

    ``chunks()`` yields ``(layer, chunk)``: ``layer`` indexes :attr:`labels`. Decoded
    bytes (the de-chunked layer is not decoding: it is never larger than the body)
    stop at ``limit``; afterwards :attr:`decoded` says how many there were,
    :attr:`capped` whether the limit stopped them, :attr:`error` what went wrong.
    A stream's bytes may come piece by piece instead: ``feed()`` each, then ``end()``
    (``coding.data`` is then left empty).

    With ``sniff``, the innermost layer (the body when no coding is labelled, else
    what removing the labelled ones gave) is decoded once more when its first bytes
    announce a coding (:mod:`~benches.analysis.protocols.sniff`): a layer labelled
    ``...+sniffed-gzip`` is added to :attr:`labels` before its first chunk. Only when
    every labelled coding is removed and fewer than MAX_CODINGS were labelled.
    """

    def __init__(self, coding: BodyCoding, limit: int, *, sniff: bool = False) -> None:
        self.coding = coding
        self.labels = coding.labels
        self.limit = limit
        self.decoded = 0
        self.capped = False
        self.error: str | None = coding.refused
        self.failure: tuple[str, str] | None = None  # (coding, why): the outermost that failed
        self._first = 1 if coding.chunked else 0  # the layer of the first coding's output
        count = len(self.labels) - self._first
        self._names = list(coding.codings[:count])
        self._stages = [_STAGES[name]() for name in self._names]
        self._live = len(self._stages)  # stages from this one on failed: fed no more
        # the innermost layer's first output is still to be sniffed
        self._sniffing = sniff and self.error is None and len(coding.codings) < MAX_CODINGS
        if self._sniffing and not self._stages and coding.data:
            if coding.data.startswith(MAGIC_STARTS):
                self._sniff(coding.data[:SNIFF_LENGTH])
            self._sniffing = False

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        data = self.coding.data
        if not self._stages and not self.coding.chunked:
            return  # nothing to decode (most bodies)
        for start in range(0, len(data), INPUT_SLICE):
            yield from self.feed(data[start : start + INPUT_SLICE])
            if self.capped:
                return
        yield from self.end()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        """The next piece of the body: the chunks it gives."""
        if self.capped:
            return
        if self._sniffing and not self._stages and data:
            self._sniff(data[:SNIFF_LENGTH])  # a stream's first bytes: the first piece's
        try:
            for start in range(0, len(data), INPUT_SLICE):
                piece = data[start : start + INPUT_SLICE]
                if self.coding.chunked:
                    yield 0, piece
                yield from self._pass(0, piece)
        except _Capped:
            self.capped = True

    def end(self) -> Iterator[tuple[int, bytes]]:
        """The body is over: what the decoders still held."""
        if self.capped:
            return
        try:
            yield from self._end(0)
        except _Capped:
            self.capped = True

    def _sniff(self, head: bytes) -> None:
        """The innermost layer starts with ``head``: one more stage if it announces a coding."""
        self._sniffing = False
        name = sniffed(head)
        if name is None:
            return
        self._names.append(name)
        self._stages.append(_STAGES[name]())
        self._live = len(self._stages)
        self.labels = [*self.labels, "+".join(filter(None, (self._label, name)))]

    @property
    def _label(self) -> str:
        """The innermost layer's label so far ("" when the body is the layer)."""
        return self.labels[-1] if self.labels else ""

    def _pass(self, index: int, data: bytes) -> Iterator[tuple[int, bytes]]:
        """``data`` through stage ``index``, its output on through the later stages."""
        if index >= self._live:
            return
        try:
            for out in self._stages[index].feed(data):
                yield from self._emit(index, out)
        except _Broken as broken:
            self._fail(index, broken)

    def _end(self, index: int) -> Iterator[tuple[int, bytes]]:
        """Stage ``index``'s input is over: its last output, then the later stages' ends."""
        if index >= self._live:
            return
        try:
            for out in self._stages[index].end():
                yield from self._emit(index, out)
        except _Broken as broken:
            self._fail(index, broken)
        yield from self._end(index + 1)

    def _emit(self, index: int, out: bytes) -> Iterator[tuple[int, bytes]]:
        room = self.limit - self.decoded
        if len(out) > room:
            self.decoded += room
            if room:
                yield self._first + index, out[:room]
            raise _Capped
        self.decoded += len(out)
        if self._sniffing and index + 1 == len(self._stages):
            self._sniff(out[:SNIFF_LENGTH])
        yield self._first + index, out
        yield from self._pass(index + 1, out)

    def _fail(self, index: int, broken: _Broken) -> None:
        if index < self._live:
            self._live = index
            self.error = f"{self._names[index]}: {broken}"
            self.failure = (self._names[index], str(broken))


class _Broken(Exception):
    """A decoder met bytes it cannot decode; str() says why."""


class _Capped(Exception):
    """The byte limit is reached: stop every stage."""


class _Stage:
    """One coding's decoder, fed its input piece by piece."""

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Output chunks (each at most about OUTPUT_CHUNK bytes) that ``data`` gives."""
        raise NotImplementedError

    def end(self) -> Iterator[bytes]:
        """The input is over: what is left; raises _Broken if the stream is not whole."""
        raise NotImplementedError

    def feed_all(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), INPUT_SLICE):
            yield from self.feed(data[start : start + INPUT_SLICE])


class _Inflate(_Stage):
    """zlib's streams: gzip (one member after another), zlib-wrapped or raw deflate."""

    def __init__(self, wbits: int, *, members: bool = False) -> None:
        self.wbits = wbits
        self.members = members  # gzip: another member may follow the first (RFC 1952 2.2)
        self.inflater = zlib.decompressobj(wbits)
        self.after = b""  # bytes after the end of a member, not yet known to start another
        self.done = False  # the stream ended: what follows is ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self.done:
            if self.inflater.eof:
                data = self.after + data
                self.after = b""
                if len(data) < 2:
                    self.after = data
                    return
                if not (self.members and data.startswith(b"\x1f\x8b")):
                    self.done = True  # trailing padding or garbage after the stream
                    return
                self.inflater = zlib.decompressobj(self.wbits)
            yield from self._inflate(data)
            data = self.inflater.unused_data if self.inflater.eof else b""

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        inflater = self.inflater
        try:
            while True:
                out = inflater.decompress(data, OUTPUT_CHUNK)
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if inflater.eof or (not data and len(out) < OUTPUT_CHUNK):
                    return
        except zlib.error as error:
            raise _Broken(str(error)) from None

    def end(self) -> Iterator[bytes]:
        if not self.inflater.eof and not self.done:
            raise _Broken("data ends before the end of the compressed stream")
        yield from ()


class _Deflate(_Stage):
    """ "deflate" is meant to be zlib-wrapped (RFC 9110 section 8.4.1.2), but servers also
    send raw deflate: the form the first two bytes suggest, else the other, as long as
    the first gave nothing."""

    def __init__(self) -> None:
        self.stage: _Inflate | None = None
        self.seen = bytearray()  # input kept until the first output: to try the other form
        self.retried = False
        self.gave = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.stage is None:
            self.seen += data
            if len(self.seen) < 2:
                return
            head = bytes(self.seen[:2])
            wrapped = head[0] & 0x0F == 8 and int.from_bytes(head, "big") % 31 == 0
            self.stage = _Inflate(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data = bytes(self.seen)
        elif not self.gave:
            self.seen += data
        yield from self._guarded(self.stage.feed(data))

    def end(self) -> Iterator[bytes]:
        if self.stage is None:  # fewer than two bytes: raw deflate can say nothing in them
            self.stage = _Inflate(-zlib.MAX_WBITS)
            self.retried = True
            yield from self.stage.feed(bytes(self.seen))
        try:
            yield from self.stage.end()
        except _Broken:
            if self.gave or self.retried:
                raise
            yield from self._retry()
            yield from self.stage.end()

    def _guarded(self, outputs: Iterator[bytes]) -> Iterator[bytes]:
        try:
            for out in outputs:
                self.gave = True
                self.seen = bytearray()
                yield out
        except _Broken:
            if self.gave or self.retried:
                raise
            yield from self._retry()

    def _retry(self) -> Iterator[bytes]:
        """The first form failed before giving anything: the other, from the start."""
        assert self.stage is not None
        self.retried = True
        self.stage = _Inflate(-self.stage.wbits)
        yield from self._guarded(self.stage.feed(bytes(self.seen)))


class _Brotli(_Stage):
    def __init__(self) -> None:
        self.decompressor = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        decompressor = self.decompressor
        try:
            # Past the limit, process() keeps the output it could not give: empty input
            # gives more of it, until there is none (can_accept_more_data() is True
            # before that: it speaks of the input).
            out = decompressor.process(data, output_buffer_limit=OUTPUT_CHUNK)
            while out:
                yield out
                out = decompressor.process(b"", output_buffer_limit=OUTPUT_CHUNK)
        except brotli.error as error:
            raise _Broken(str(error) or "invalid brotli data") from None

    def end(self) -> Iterator[bytes]:
        if not self.decompressor.is_finished():
            raise _Broken("data ends before the end of the compressed stream")
        yield from ()


class _Zstd(_Stage):
    """One zstd frame after another (RFC 8878 section 3.1)."""

    def __init__(self) -> None:
        self.context = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self.frame = self.context.decompressobj()
        self.started = False  # the current frame has had input

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while data:
                if self.frame.eof:
                    self.frame = self.context.decompressobj()
                    self.started = False
                position = 0
                while not self.frame.eof and position < len(data):
                    out = self.frame.decompress(data[position : position + ZSTD_INPUT_SLICE])
                    self.started = True
                    position += ZSTD_INPUT_SLICE
                    for start in range(0, len(out), OUTPUT_CHUNK):
                        yield out[start : start + OUTPUT_CHUNK]
                data = self.frame.unused_data + data[position:] if self.frame.eof else b""
        except zstandard.ZstdError as error:
            raise _Broken(str(error)) from None

    def end(self) -> Iterator[bytes]:
        if self.started and not self.frame.eof:
            raise _Broken("data ends before the end of the compressed stream")
        yield from ()


_STAGES = {
    "gzip": lambda: _Inflate(16 + zlib.MAX_WBITS, members=True),
    "x-gzip": lambda: _Inflate(16 + zlib.MAX_WBITS, members=True),
    "deflate": _Deflate,
    "br": _Brotli,
    "zstd": _Zstd,
    # what a body's first bytes announced (sniff.py); a zlib header is never raw deflate
    SNIFFED + GZIP: lambda: _Inflate(16 + zlib.MAX_WBITS, members=True),
    SNIFFED + ZLIB: lambda: _Inflate(zlib.MAX_WBITS),
    SNIFFED + ZSTD: _Zstd,
}
