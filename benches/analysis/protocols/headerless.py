"""Bytes with no header that start like compressed data: decoded as they come.

A raw TCP stream direction that is neither TLS nor HTTP, or a UDP datagram, may be
gzip, zlib or zstd from its first byte (:mod:`~benches.analysis.protocols.sniff`).
:class:`HeaderlessStream` is a reader that decodes it with the content-codings'
:class:`~benches.analysis.protocols.http_codings.LayerStream`, out of the flow's
decode budget, and hands each decoded chunk to a :class:`DecodedSink` (the
inspection searches it). What the budget stopped is a BUDGET_SPENT note on the flow;
bytes that only started like a compressed stream, a DECODER_GAVE_UP note
(informational: the bytes as sent are searched anyway).

A stream's decoder lives as long as the stream, and holds a window (32 KiB for
gzip and zlib, up to 8 MiB for zstd): at most :data:`MAX_LIVE` stream decoders live
at once in one analysis (:class:`LiveDecoders`); a stream that starts like compressed
data past them is searched as sent, and its flow says so (BUDGET_SPENT). A datagram's
decoder lives for that datagram only.
"""

from __future__ import annotations

from typing import Protocol

from benches.analysis.protocols.budget import FlowBudget
from benches.analysis.protocols.http_codings import BodyCoding, LayerStream
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.readers import Facts, ProtocolReader

MAX_LIVE = 16  # stream decoders alive at once: 16 zstd windows of 8 MiB at worst


class LiveDecoders:
    """How many stream decoders are alive in one analysis (its inspector's)."""

    __slots__ = ("live",)

    def __init__(self) -> None:
        self.live = 0

    def take(self) -> bool:
        """One more decoder, if the bound allows it."""
        if self.live >= MAX_LIVE:
            return False
        self.live += 1
        return True

    def give_back(self) -> None:
        self.live -= 1


class DecodedSink(Protocol):
    """Where decoded chunks go: ``chunk`` for each, ``finish`` once at the end."""

    def chunk(self, label: str, data: bytes, frame: int) -> None: ...

    def finish(self) -> None: ...


class HeaderlessStream(ProtocolReader):
    """One stream direction (or one datagram) that starts with a compression magic.

    ``coding``: the sniffed coding's label ("sniffed-zstd"); ``what`` names the bytes
    for people ("TCP stream to_server"); ``quiet``: a failure is not said (it was
    already, for an earlier datagram of the stream).
    """

    __slots__ = ("facts", "budget", "stream", "sink", "what", "quiet", "failed", "live")

    def __init__(
        self,
        facts: Facts,
        budget: FlowBudget,
        coding: str,
        sink: DecodedSink,
        what: str,
        *,
        quiet: bool = False,
        live: LiveDecoders | None = None,
    ) -> None:
        self.facts = facts
        self.budget = budget
        self.stream = LayerStream(BodyCoding(b"", False, (coding,)), budget.left)
        self.sink = sink
        self.what = what
        self.quiet = quiet
        self.failed = False  # the decoder gave up: said on the flow unless quiet
        self.live = live  # the bound this stream's decoder counts against, till it is done

    def data(self, chunk: bytes, frame: int, time: float) -> bool:
        stream = self.stream
        stream.limit = stream.decoded + self.budget.left  # the budget as other flows left it
        before = stream.decoded
        for index, out in stream.feed(chunk):
            self.sink.chunk(stream.labels[index], out, frame)
        self.budget.charge(stream.decoded - before)
        if stream.capped or stream.failure is not None:
            self._done(frame)
            return False
        return True

    def datagram(self, chunk: bytes, frame: int, time: float) -> bool:
        """A datagram is a whole stream: decoded and done."""
        if self.data(chunk, frame, time):
            self.close(frame)
        return False

    def close(self, frame: int) -> None:
        stream = self.stream
        stream.limit = stream.decoded + self.budget.left
        before = stream.decoded
        for index, out in stream.end():
            self.sink.chunk(stream.labels[index], out, frame)
        self.budget.charge(stream.decoded - before)
        self._done(frame)

    def gap(self, offset: int, frame: int) -> bool:
        """A hole in compressed bytes: nothing after it can be decoded."""
        self.stream.failure = self.stream.failure or (self.stream.labels[-1], "a gap in the stream")
        self._done(frame)
        return False

    def _done(self, frame: int) -> None:
        if self.live is not None:
            self.live.give_back()
            self.live = None
        self.sink.finish()
        stream = self.stream
        if stream.capped:
            self.facts.note(
                BUDGET_SPENT,
                f"decoding a {self.what} that starts like {stream.labels[-1]} stopped at"
                f" {self.budget.which()}: what lay past it was searched only as sent",
                frame,
            )
        elif stream.failure is not None and not self.failed:
            self.failed = True
            if not self.quiet:
                name, why = stream.failure
                self.facts.note(
                    DECODER_GAVE_UP,
                    f"a {self.what} starts like {name} but could not be decoded: {why}",
                    frame,
                )
