"""The analyzer's side of the seam: every flow's bytes searched, its protocols read.

:class:`Inspector` opens a :class:`FlowInspection` per flow (see
:mod:`benches.analysis.network.streams` for the calls a producer makes). Every byte of
every stream and datagram is searched, whatever the port or protocol: a stream
through a :class:`~benches.analysis.detection.scanner.StreamScanner` (a match may span
packets; the scanner is fed :data:`~benches.analysis.detection.datagrams.BATCH` bytes at a
time), a datagram or a stray copy on its own (datagrams of all flows are
screened together first, :mod:`~benches.analysis.detection.datagrams`). HTTP bodies are
searched again in every decoded form, decoded and searched chunk by chunk out of the
capture's decode budget (:mod:`~benches.analysis.protocols.budget`). Matches are kept
as :class:`RawMatch` (the flow is still being read); the analyzer turns them into results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from benches.analysis.attribution.names import DnsLog
from benches.analysis.detection.datagrams import BATCH, Datagrams
from benches.analysis.detection.decoded import DecodedSearch
from benches.analysis.detection.evidence import Found, Recent
from benches.analysis.detection.identifiers import Hit
from benches.analysis.detection.locations import PairingBudget
from benches.analysis.detection.masks import masked_evidence
from benches.analysis.detection.scanner import Scanner, StreamScanner
from benches.analysis.network.streams import FlowInfo
from benches.analysis.pcap.clock import Clock
from benches.analysis.protocols.budget import MAX_CODINGS, DecodeBudget, FlowBudget
from benches.analysis.protocols.ciphertext import HEADER as TLS_HEADER
from benches.analysis.protocols.ciphertext import QuicConnection, RecordLayer, Spans, TlsSession
from benches.analysis.protocols.headerless import MAX_LIVE, HeaderlessStream, LiveDecoders
from benches.analysis.protocols.http import HttpMessage
from benches.analysis.protocols.http2 import LABEL as H2C
from benches.analysis.protocols.http2 import (
    HeaderBlock,
    Http2Session,
    opens_http2,
    server_settings,
    upgrades_to_h2c,
)
from benches.analysis.protocols.http_codings import OUTPUT_CHUNK, BodyCoding, LayerStream
from benches.analysis.protocols.mime import MimeReading, mime_headers, read_body, wanted
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.protocols.protobuf import body_kind, transcribe
from benches.analysis.protocols.readers import (
    TLS_HANDSHAKE,
    DnsReader,
    Facts,
    HttpReader,
    ProtocolReader,
    QuicReader,
    TlsHello,
    http_readers,
)
from benches.analysis.protocols.sniff import MAGIC_STARTS, SNIFF_LENGTH, sniffed
from benches.analysis.protocols.websocket import WEBSOCKET, WebSocketUpgrade, asks_upgrade

DNS_PORT = 53
TO_SERVER, TO_CLIENT = "to_server", "to_client"
HTTP_BODY = "http:"
# a raw TCP stream's or a datagram's bytes decoded by what they started with, and the
# codings removed: "stream:sniffed-zstd", "datagram:sniffed-zlib"
STREAM_DECODED, DATAGRAM_DECODED = "stream:", "datagram:"
DECODED = (HTTP_BODY, STREAM_DECODED, DATAGRAM_DECODED)  # sources that name a chain
QUIC_INITIAL = "quic-initial"  # the ClientHello of a client's QUIC Initials, decrypted
STITCH = 256  # stream bytes either side of a stray copy searched with it
TLS_START = bytes([TLS_HANDSHAKE])  # how a TLS stream begins: a handshake record
INTERCEPTED = "tls+"  # a match decrypted by the interceptor: "tls+h2+gzip" (interception/)


@dataclass(frozen=True, slots=True)
class RawMatch:
    flow: int  # FlowInspection.index
    direction: str
    hit: Hit  # offsets in the stream (stream and stray matches) or the message
    packet: int
    offset: int
    evidence: str
    decrypted: bool
    # "stream", "stray" (searched alone), "datagram", "quic-initial" (the decrypted
    # ClientHello of QUIC Initials), or one of DECODED and the codings removed
    # ("http:chunked+gzip", "http:multipart+base64", "stream:sniffed-zstd"; HTTP/2's
    # header values and bodies: "http:h2c+hpack-huffman", "http:h2c+gzip"), or
    # "websocket" and the decoding after it ("websocket+permessage-deflate") for a
    # WebSocket message; through the TLS interceptor, its chain: "tls+h2+gzip", "tls+ws"
    source: str

    @property
    def encoding(self) -> str:
        """How the bytes spelled the identifier, after any decoding of the body or
        the decryption of a QUIC Initial: "gzip+base64", "quic-initial+plain"."""
        if self.source.startswith(DECODED):
            return f"{self.source.partition(':')[2]}+{self.hit.encoding}"
        if self.source.startswith(INTERCEPTED):  # "tls+h2+gzip": the chain already
            return f"{self.source}+{self.hit.encoding}"
        if self.source == QUIC_INITIAL or self.source.startswith(WEBSOCKET):
            return f"{self.source}+{self.hit.encoding}"
        return self.hit.encoding


class Inspector:
    """Opens flows for a producer; collects their matches. One per analysis."""

    def __init__(self, scanner: Scanner, clock: Clock | None = None) -> None:
        self.scanner = scanner
        self.matches: list[RawMatch] = []
        self.flows: list[FlowInspection] = []
        self.dns = DnsLog(clock)
        self.datagrams: Datagrams[StreamInspection] = Datagrams(scanner)  # not yet searched
        self.budget = DecodeBudget()  # the capture's decoded bytes; new for each capture
        self.headerless = LiveDecoders()  # raw streams decoded by what they started with

    def new_capture(self, budget: DecodeBudget | None = None) -> None:
        """The next capture's flows decode out of a budget of their own."""
        self.budget = budget if budget is not None else DecodeBudget()

    def open(self, info: FlowInfo) -> FlowInspection:
        flow = FlowInspection(self, len(self.flows), info)
        self.flows.append(flow)
        return flow

    def release(self) -> None:
        """The analysis is done (matches taken): cut the references between flows and this
        inspector, so that reference counting frees them (see FlowState.release)."""
        for flow in self.flows:
            flow.release()
        self.flows.clear()

    def search_datagrams(self) -> None:
        """Search the datagrams gathered so far; call it before reading ``matches``."""
        for stream, offset, chunk, frame in self.datagrams.take():
            stream.alone(offset, chunk, frame, "datagram")


class FlowInspection:
    """One flow: a FlowSink, with what its protocol readers learned in ``facts``."""

    __slots__ = ("inspector", "index", "info", "facts", "tls", "quic", "to_server", "to_client",
                 "http", "budget", "h2", "websocket", "pairing")  # fmt: skip

    def __init__(self, inspector: Inspector, index: int, info: FlowInfo) -> None:
        self.inspector = inspector
        self.index = index
        self.info = info
        self.facts = Facts()
        self.budget: FlowBudget | None = None  # drawn from the capture's when first needed
        # The location search's work on this flow, every search of it drawing on it.
        self.pairing = PairingBudget(on_spent=self._pairing_spent)
        # TCP on the wire may carry TLS, whose application data need not be searched.
        self.tls = TlsSession() if info.proto == "tcp" and not info.decrypted else None
        self.quic: QuicConnection | None = None  # UDP but DNS: what makes a datagram 1-RTT
        self.to_server = StreamInspection(self, TO_SERVER)
        self.to_client = StreamInspection(self, TO_CLIENT)
        self.http: tuple[HttpReader, HttpReader] | None = None  # made when a stream needs one
        self.h2: Http2Session | None = None  # made by an h2c preface or upgrade
        self.websocket: WebSocketUpgrade | None = None  # made by a request to switch to it
        facts, ports = self.facts, (info.client_port, info.server_port)
        if DNS_PORT in ports and info.proto in ("udp", "tcp"):
            log = inspector.dns.add
            self.to_server.readers.append(DnsReader(facts, partial(log, info, TO_SERVER)))
            self.to_client.readers.append(DnsReader(facts, partial(log, info, TO_CLIENT)))
        if info.proto == "tcp":
            self.to_server.opening = self._client_speaks
            self.to_client.opening = self._server_speaks
        elif info.proto == "udp" and DNS_PORT not in ports:  # QUIC runs on any port
            hello = partial(self.to_server.alone, 0, source=QUIC_INITIAL)
            self.quic = QuicConnection()
            self.to_server.readers.append(QuicReader(facts, hello, self.quic))

    def close(self) -> None:
        """Both streams were closed already: nothing is left to settle."""

    def release(self) -> None:
        """Cut every reference that leads back to this flow (the streams' ``flow``, the
        callbacks its readers, decoders and budget hold), so that reference counting frees
        it: the cycle collector is paused while an analysis runs (gcpause.py)."""
        for stream in (self.to_server, self.to_client):
            del stream.flow
            stream.opening = stream.switching = None
            stream.readers = []
        self.pairing.on_spent = None
        if self.h2 is not None:
            self.h2.readers.clear()  # each reader holds the session, the session the flow
        if self.websocket is not None:
            self.websocket.client = self.websocket.server = None  # likewise
        self.http = self.h2 = self.websocket = None

    def decoding(self) -> FlowBudget:
        """The flow's decode budget."""
        if self.budget is None:
            self.budget = self.inspector.budget.flow()
        return self.budget

    def _pairing_spent(self) -> None:
        frame = max(self.to_server.frame, self.to_client.frame)
        self.facts.note(
            BUDGET_SPENT,
            f"the search for the bench's location stopped at {self.pairing.allowance:,} units"
            " of work (numbers near its coordinates read and paired): what came later on the flow"
            " was not searched for coordinates",
            frame,
        )

    def _client_speaks(self, first: bytes) -> list[ProtocolReader]:
        """Readers for a TCP client's stream, chosen by its first bytes: TLS pays for no
        HTTP reader; anything else may hold HTTP/1.x wherever a start line lets it sync."""
        if first[0] == TLS_HANDSHAKE:
            return [TlsHello(self.facts)]
        if first[:1] == b"P" and opens_http2(first):  # HTTP/2 with prior knowledge
            session = self._h2()
            session.prior = True
            return [session.reader(True)]
        if first.startswith(MAGIC_STARTS):
            return [self._http()[0], *self.to_server.headerless(first)]
        return [self._http()[0]]

    def _server_speaks(self, first: bytes) -> list[ProtocolReader]:
        """Readers for a TCP server's stream, chosen likewise by its first bytes."""
        if first[0] == TLS_HANDSHAKE:
            return []
        if (self.h2 is not None and self.h2.prior) or server_settings(first):
            return [self._h2().reader(False)]
        if first.startswith(MAGIC_STARTS):
            return [self._http()[1], *self.to_client.headerless(first)]
        return [self._http()[1]]

    def _http(self) -> tuple[HttpReader, HttpReader]:
        if self.http is None:
            self.http = http_readers(self.facts, self.to_server.body, self.to_client.body)
        return self.http

    def _h2(self) -> Http2Session:
        if self.h2 is None:
            streams = (self.to_server, self.to_client)
            self.h2 = Http2Session(
                self.facts,
                self.decoding,
                (streams[0].h2_headers, streams[1].h2_headers),
                (streams[0].h2_body, streams[1].h2_body),
            )
        return self.h2

    def h2c_upgrade(self, stream: StreamInspection, message: HttpMessage) -> None:
        """``Upgrade: h2c`` asked (the client's preface may follow the request) or granted
        by a 101 (the server speaks HTTP/2 right after it): read on from there."""
        session = self._h2()
        client = message.is_request
        if client:
            session.upgrade_settings(message)
        else:
            session.upgraded = True
        if client in session.readers:
            return
        # Read from the message's end on: the rest of the chunk under way, then what follows.
        stream.switching = (message.end, session.reader(client, message.end))


class StreamInspection:
    """One direction of a flow: a StreamSink."""

    __slots__ = ("flow", "direction", "decrypted", "readers", "opening", "bytes", "frame",
                 "scanner", "base", "recent", "pending", "pending_bytes", "alternate",
                 "following", "records", "header_alone", "gave_up", "switching")  # fmt: skip

    def __init__(self, flow: FlowInspection, direction: str) -> None:
        self.flow = flow
        self.direction = direction
        self.decrypted = flow.info.decrypted
        self.readers: list[ProtocolReader] = []  # protocol readers still interested
        # Chooses more readers by the stream's first bytes (a TCP stream's), then is done:
        # most TCP streams are TLS, and never pay for an HTTP parser.
        self.opening: Callable[[bytes], list[ProtocolReader]] | None = None
        self.bytes = 0  # payload bytes seen: stream data and datagrams
        self.frame = 0  # the last frame that brought data
        self.scanner: StreamScanner | None = None  # opened by the first data of each run
        self.base = 0  # stream offset where the scanner started (after the last gap)
        self.recent: Recent | None = None
        # Stream bytes gathered before the scanner searches them: its cost is mostly per
        # call, and a 1,400-byte segment is a small call. A hit is found BATCH bytes later.
        self.pending: list[bytes] = []  # chunks not yet fed to the scanner
        self.pending_bytes = 0
        self.alternate: tuple[int, bytes] = (-1, b"")  # (end, last bytes) of the last stray copy
        self.following: tuple[int, bytes] = (-1, b"")  # (offset, first bytes) of the last one
        self.records: RecordLayer | None = None  # a TLS stream's records, to leave out ciphertext
        self.header_alone = False  # a record header alone is too short to hold a hit
        self.gave_up = False  # a body's coding could not be removed: said on the flow once
        # A reader to start where an HTTP message read from this chunk ended (a WebSocket's)
        self.switching: tuple[int, ProtocolReader] | None = None

    def data(self, offset: int, chunk: bytes, frame: int, time: float) -> None:
        if not self.bytes and not offset and chunk[:1] == TLS_START and self.flow.tls:
            self.records = RecordLayer(self.flow.tls, self.direction == TO_CLIENT)
            self.header_alone = self.flow.inspector.scanner.shortest > TLS_HEADER
        self.bytes += len(chunk)
        self.frame = frame
        records = self.records
        if records is None:
            self._search(offset, chunk, frame)
        elif records.skips(len(chunk)):  # all of it ciphertext: nothing to search
            pass
        elif (
            self.header_alone
            and (self.recent is None or self.recent.end != offset)
            and records.one_record(chunk)
        ):
            pass  # a record header, then ciphertext: _search_around leaves out such a header
        else:
            spans = records.ciphertext(chunk)
            if spans:
                self._search_around(offset, chunk, frame, spans)
            else:
                self._search(offset, chunk, frame)
        if self.opening is not None:
            self.readers = [*self.readers, *self.opening(chunk)]
            self.opening = None
        readers = self.readers
        if not readers:
            return
        if len(readers) == 1:  # the common case: no list made per chunk
            if not readers[0].data(chunk, frame, time):
                self.readers = []
        else:
            self.readers = [r for r in readers if r.data(chunk, frame, time)]
        if self.switching is not None:
            self._switch(self.switching, offset, chunk, frame, time)

    def _switch(
        self, switching: tuple[int, ProtocolReader], offset: int, chunk: bytes, frame: int,
        time: float,
    ) -> None:  # fmt: skip
        """Start the reader an HTTP message asked for, on the chunk's bytes after it."""
        start, reader = switching
        self.switching = None
        after = chunk[max(start - offset, 0) :] if start < offset + len(chunk) else b""
        if not after or reader.data(after, frame, time):
            self.readers = [*self.readers, reader]

    def gap(self, offset: int) -> None:
        self._break()
        if self.readers:  # a hole breaks every reader's framing: a few find it again
            self.readers = [r for r in self.readers if r.gap(offset, self.frame)]

    def stray(self, offset: int, chunk: bytes, frame: int) -> None:
        """Search a copy that lost to the first one between the bytes around it: the
        stray copy just before it (a retransmitted run), else the stream's; then the
        stream's after it, else the stray copy just after it (a run sent backwards).
        An identifier split across copies is found too."""
        if not chunk:
            return
        end = offset + len(chunk)
        before = after = b""
        recent = self.recent
        if self.alternate[0] == offset:
            before = self.alternate[1]
        elif recent is not None:
            start, before = recent.kept(offset - STITCH, offset)
            before = before if start + len(before) == offset else b""
        if recent is not None:
            after_start, after = recent.kept(end, end + STITCH)
            after = after if after_start == end else b""
        if not after and self.following[0] == end:
            after = self.following[1]
        self.alternate = (end, (before + chunk)[-STITCH:])
        self.following = (offset, (chunk[:STITCH] + after)[:STITCH])
        window = before + chunk + after
        hits = self.flow.inspector.scanner.scan(window, self.flow.pairing)
        low, high = len(before), len(before) + len(chunk)
        base = offset - len(before)
        for hit in hits:
            if hit.start < high and hit.end > low:  # holds at least one byte of the copy
                evidence = masked_evidence(window, hit, hits)
                self._add(_shift(hit, base), frame, base + hit.start, evidence, "stray")

    def datagram(self, chunk: bytes, frame: int, time: float) -> None:
        offset = self.bytes
        self.bytes += len(chunk)
        self.frame = frame
        inspector = self.flow.inspector
        searched = chunk
        quic = self.flow.quic
        if chunk and quic is not None and quic.version is not None and not self.decrypted:
            # the rest of a 1-RTT packet is ciphertext; anything else is searched whole
            cleartext = quic.searched(chunk, self.direction == TO_CLIENT)
            searched = chunk[:cleartext] if cleartext < len(chunk) else chunk
        if searched and inspector.datagrams.add(self, offset, searched, frame):
            inspector.search_datagrams()
        # UDP but DNS and QUIC (whose first bytes are random): a datagram may be compressed
        if quic is not None and quic.version is None and chunk.startswith(MAGIC_STARTS):
            for reader in self.headerless(chunk, offset, datagram=True):
                reader.datagram(chunk, frame, time)
                self.gave_up = self.gave_up or reader.failed  # said once a stream
        readers = self.readers
        if not readers:
            return
        if len(readers) == 1:  # the common case (a DNS or QUIC reader): no list made
            if not readers[0].datagram(chunk, frame, time):
                self.readers = []
        else:
            self.readers = [r for r in readers if r.datagram(chunk, frame, time)]

    def close(self) -> None:
        self._break()
        for reader in self.readers:
            reader.close(self.frame)
        self.readers = []
        self.alternate = self.following = (-1, b"")

    def idle(self) -> None:
        """Nothing came for a while: search what is pending, settle the hits that wait."""
        self._feed()
        if self.recent is not None and self.recent.waiting:
            self._record(self.recent.drain(), "stream")

    def body(self, message: HttpMessage, frame: int) -> None:
        """Search every decoded form of a finished HTTP message's body."""
        if self.flow.websocket is not None or asks_upgrade(message):
            self._upgrade(message, frame)
        scanner = self.flow.inspector.scanner
        for layer, content in message.layers():
            if layer == "raw" or not content:
                continue  # the body as sent is part of the stream: searched already
            hits = scanner.scan(content, self.flow.pairing)
            for hit in hits:
                evidence = masked_evidence(content, hit, hits)
                self._add(hit, frame, message.start, evidence, f"{HTTP_BODY}{layer}")
        coding = message.coding
        if coding is not None:
            content_type, transfer = mime_headers(message.headers)
            mime = wanted(content_type, transfer)
            kind = body_kind(content_type)
            if (
                mime
                or kind is not None
                or coding.chunked
                or coding.codings
                or coding.data.startswith(MAGIC_STARTS)
            ):  # else: nothing to remove, nothing to read
                label, inner = self._decode(message, coding, frame, keep=mime or kind is not None)
                if mime:
                    budget = self.flow.decoding()
                    reading = read_body(inner, content_type, transfer, budget.left, label)
                    budget.charge(reading.decoded)
                    self._mime(message, reading, frame)
                if kind is not None and message.decode_error is None and not message.bomb:
                    self._protobuf(message, kind, inner, label if coding.codings else "", frame)
        if message.headers and upgrades_to_h2c(message):
            self.flow.h2c_upgrade(self, message)

    def h2_headers(self, block: HeaderBlock, frame: int) -> None:
        """Search an HTTP/2 header block, decoded (Huffman codes and table entries undone)."""
        hits = self.flow.inspector.scanner.scan(block.text, self.flow.pairing)
        for hit in hits:
            evidence = masked_evidence(block.text, hit, hits)
            source = f"{HTTP_BODY}{H2C}+{block.coding_at(hit.start)}"
            self._add(hit, frame, block.offset, evidence, source)

    def h2_body(self, message: HttpMessage, frame: int) -> None:
        """Search an HTTP/2 stream's body, its DATA frames joined; then decode it."""
        search = _DecodedSearch(self, HTTP_BODY, message.start)
        body = message.body
        for start in range(0, len(body), OUTPUT_CHUNK):
            search.chunk(H2C, body[start : start + OUTPUT_CHUNK], frame)
        search.finish()
        coding = message.coding
        kind = body_kind(message.headers.get("content-type"))  # gRPC's own transport
        if coding is not None and (coding.codings or kind is not None):
            label, inner = self._decode(message, coding, frame, prefix=H2C, keep=kind is not None)
            if kind is not None and not (message.decode_error or message.bomb):
                self._protobuf(message, kind, inner, label, frame)

    def _upgrade(self, message: HttpMessage, frame: int) -> None:
        """A message of a switch to WebSocket: its frames are read from where it ends."""
        flow = self.flow
        if flow.websocket is None:
            sinks = {True: flow.to_server, False: flow.to_client}
            flow.websocket = WebSocketUpgrade(
                flow.facts.note,
                flow.decoding,
                lambda client: _MessageSearch(sinks[client]),
                flow.inspector.scanner.shortest,
            )
        reader = flow.websocket.message(message, self.direction == TO_SERVER, frame)
        if reader is None:
            return
        self.switching = (message.end, reader)
        if self.direction == TO_CLIENT:  # switched: the client's stream is HTTP no more
            server = flow.to_server
            server.readers = [r for r in server.readers if not isinstance(r, HttpReader)]

    def headerless(
        self, first: bytes, offset: int = 0, *, datagram: bool = False
    ) -> list[HeaderlessStream]:
        """A reader that decodes this stream (or one datagram) if ``first`` (its first
        bytes) announce a compression coding."""
        coding = sniffed(first)
        if coding is None:
            return []
        flow = self.flow
        kind = "UDP datagram" if datagram else f"{flow.info.proto.upper()} stream"
        source = DATAGRAM_DECODED if datagram else STREAM_DECODED
        sink = _DecodedSearch(self, source, offset)
        what, quiet = f"{kind} {self.direction}", self.gave_up
        live = None if datagram else flow.inspector.headerless
        if live is not None and not live.take():
            flow.facts.note(
                BUDGET_SPENT,
                f"a {what} starts like {coding}, but {MAX_LIVE} such streams were being"
                " decoded already: it was searched only as sent",
                self.frame,
            )
            return []
        budget = flow.decoding()
        return [HeaderlessStream(flow.facts, budget, coding, sink, what, quiet=quiet, live=live)]

    def _decode(
        self, message: HttpMessage, coding: BodyCoding, frame: int, *, keep: bool = False,
        prefix: str = "",
    ) -> tuple[str, bytes]:  # fmt: skip
        """Decode the body's layers chunk by chunk, each searched as it comes, within the
        flow's budget, and what its first bytes announce once the labelled codings are
        removed; what the budget stopped is said on the flow. The innermost layer's
        label and, with ``keep``, its bytes (for MIME)."""
        flow = self.flow
        budget = flow.decoding()
        stream = LayerStream(coding, budget.left, sniff=True)
        source = f"{HTTP_BODY}{prefix}+" if prefix else HTTP_BODY
        search = _DecodedSearch(self, source, message.start)
        inner = bytearray()
        for index, chunk in stream.chunks():
            search.chunk(stream.labels[index], chunk, frame)
            if keep and index == len(stream.labels) - 1:
                inner += chunk
        search.finish()
        budget.charge(stream.decoded)
        if not prefix:
            message.decode_error, message.bomb = stream.error, stream.capped
        kind = "request" if message.is_request else "response"
        if stream.capped:
            flow.facts.note(
                BUDGET_SPENT,
                f"decoding HTTP {kind} bodies stopped at {budget.which()}:"
                " what lay past it was searched only as sent",
                frame,
            )
        if not self.gave_up:
            self._gave_up(message, coding, stream, frame)
        if len(coding.codings) > MAX_CODINGS:
            flow.facts.note(
                BUDGET_SPENT,
                f"an HTTP {kind} body has {len(coding.codings)} codings, more than {MAX_CODINGS}:"
                " the rest were not removed, what lay under them was never searched",
                frame,
            )
        label = _join(prefix, stream.labels[-1] if stream.labels else "")
        return label, (bytes(inner) if stream.labels else coding.data) if keep else b""

    def _mime(self, message: HttpMessage, reading: MimeReading, frame: int) -> None:
        """Search the transfer-decoded MIME parts of a body, and decode their codings."""
        for form in reading.forms:
            data = form.coding.data
            if form.decoded and data:
                search = _DecodedSearch(self, HTTP_BODY, message.start)
                for start in range(0, len(data), OUTPUT_CHUNK):
                    search.chunk(form.label, data[start : start + OUTPUT_CHUNK], frame)
                search.finish()
            if form.coding.codings or data.startswith(MAGIC_STARTS):
                self._decode(message, form.coding, frame, prefix=form.label)
        kind = "request" if message.is_request else "response"
        if reading.spent is not None:
            self.flow.facts.note(
                BUDGET_SPENT,
                f"reading the MIME parts of HTTP {kind} bodies stopped at {reading.spent}:"
                " what lay past it was searched only as sent",
                frame,
            )
        if reading.unsupported is not None and not self.gave_up:
            self.gave_up = True
            self.flow.facts.note(
                DECODER_GAVE_UP,
                f"{reading.unsupported} part of the {_message_name(message)} at frame {frame}"
                " could not be decoded: no decoder for this transfer encoding",
                frame,
            )

    def _protobuf(
        self, message: HttpMessage, kind: str, data: bytes, chain: str, frame: int
    ) -> None:
        """A protobuf or gRPC body written out as text (protocols/protobuf.py), searched as
        a decoded layer "protobuf" out of the flow's budget; what it could not read is said
        on the flow (its bytes were searched as sent all the same)."""
        budget = self.flow.decoding()
        grpc_encoding = message.headers.get("grpc-encoding")
        transcript = transcribe(kind, data, budget.left, grpc_encoding)
        budget.charge(transcript.cost)
        label = f"{chain}+{transcript.label}" if chain else transcript.label  # "gzip+protobuf"
        search = _DecodedSearch(self, HTTP_BODY, message.start)
        search.chunk(label, transcript.text, frame)
        search.finish()
        for kind, detail in transcript.notes(f"the {_message_name(message)} at frame {frame}"):
            self.flow.facts.note(kind, detail, frame)

    def _gave_up(
        self, message: HttpMessage, coding: BodyCoding, stream: LayerStream, frame: int
    ) -> None:
        """A coding that could not be removed, said on the flow (informational: the body
        as sent was searched). The first per direction: a flow of many broken bodies
        is one note, not one per body."""
        if stream.failure is not None:
            name, why = stream.failure
        elif (unsupported := coding.unsupported) is not None:
            name, why = unsupported, "no decoder for this coding"
        else:
            return
        self.gave_up = True
        self.flow.facts.note(
            DECODER_GAVE_UP,
            f"{name} body of the {_message_name(message)} at frame {frame} could not be"
            f" decoded: {why}",
            frame,
        )

    # --- inside ---------------------------------------------------------------

    def _break(self) -> None:
        """The bytes stop following on: a gap or the end."""
        if self.records is not None:
            self.records.break_off()
        self._end_run()

    def _search(self, offset: int, chunk: bytes, frame: int) -> None:
        """Stream bytes for the scanner; a run of them ends where ciphertext was left out."""
        recent = self.recent
        if recent is not None and recent.end != offset:
            self._end_run()
            recent = None
        if recent is None:
            longest = self.flow.inspector.scanner.span
            recent = self.recent = Recent(longest, BATCH)
            self.scanner = self.flow.inspector.scanner.stream(self.flow.pairing)
            self.base = offset
        recent.add(offset, chunk, frame)
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes >= BATCH:
            self._feed()

    def _search_around(self, offset: int, chunk: bytes, frame: int, spans: Spans) -> None:
        """Search the chunk but its ``spans`` of ciphertext.

        A piece between two spans of ciphertext (a record header) that is shorter
        than any hit cannot hold one: it is not searched.
        """
        at = 0
        shortest = self.flow.inspector.scanner.shortest
        for start, end in spans:
            if start > at:
                recent = self.recent
                joined = recent is not None and recent.end == offset + at
                if joined or start - at >= shortest:
                    self._search(offset + at, chunk[at:start], frame)
            at = end
        if at < len(chunk):
            self._search(offset + at, chunk[at:], frame)

    def _feed(self) -> None:
        """Hand the scanner what is pending, in one piece: one call per BATCH bytes."""
        scanner, recent = self.scanner, self.recent
        if scanner is None or recent is None or not self.pending:
            return
        pending = self.pending
        hits = scanner.feed(pending[0] if len(pending) == 1 else b"".join(pending))
        pending.clear()
        self.pending_bytes = 0
        if hits:
            recent.found([_shift(h, self.base) for h in hits] if self.base else hits)
        if recent.waiting:
            self._record(recent.ready(), "stream")

    def _end_run(self) -> None:
        """The end of a contiguous run: what is pending and what the scanner held back, in
        one search; then every waiting hit."""
        scanner, recent = self.scanner, self.recent
        if scanner is not None and recent is not None:
            pending = self.pending
            hits = scanner.finish(pending[0] if len(pending) == 1 else b"".join(pending))
            pending.clear()
            self.pending_bytes = 0
            if hits:
                recent.found([_shift(h, self.base) for h in hits])
            self._record(recent.drain(), "stream")
        self.scanner = None
        self.recent = None

    def alone(self, offset: int, chunk: bytes, frame: int, source: str) -> None:
        """Search bytes on their own: a datagram, or a copy with no stream around it."""
        if not chunk:
            return
        hits = self.flow.inspector.scanner.scan(chunk, self.flow.pairing)
        for hit in hits:
            evidence = masked_evidence(chunk, hit, hits)
            self._add(_shift(hit, offset), frame, offset + hit.start, evidence, source)

    def _record(self, found: list[Found], source: str) -> None:
        for hit, frame, evidence in found:
            self._add(hit, frame, hit.start, evidence, source)

    def _add(self, hit: Hit, frame: int, offset: int, evidence: str, source: str) -> None:
        match = RawMatch(
            self.flow.index, self.direction, hit, frame, offset, evidence, self.decrypted, source
        )
        self.flow.inspector.matches.append(match)


class _DecodedSearch:
    """Decoded layers of a body, a stream or a datagram, each searched as it comes (a
    DecodedSink): matches at ``offset``, their source ``source`` and the layer's label."""

    __slots__ = ("stream", "source", "offset", "searches")

    def __init__(self, stream: StreamInspection, source: str, offset: int) -> None:
        self.stream = stream
        self.source = source
        self.offset = offset
        self.searches: dict[str, DecodedSearch] = {}

    def chunk(self, label: str, data: bytes, frame: int) -> None:
        search = self.searches.get(label)
        if search is None:
            flow = self.stream.flow
            search = self.searches[label] = DecodedSearch(
                flow.inspector.scanner, flow.pairing, OUTPUT_CHUNK
            )
        self._add(label, search.feed(data, frame))

    def finish(self) -> None:
        for label, search in self.searches.items():
            self._add(label, search.finish())
        self.searches = {}

    def _add(self, label: str, found: list[Found]) -> None:
        for hit, frame, evidence in found:
            self.stream._add(hit, frame, self.offset, evidence, self.source + label)


class _MessageSearch:
    """A stream's WebSocket messages, searched as their bytes come (a MessageSink): one
    search per decoding chain; control frames' payloads each alone. A message that starts
    like compressed data (sniff.py) is also decoded as it comes, out of the flow's budget
    ("websocket+sniffed-gzip")."""

    __slots__ = ("stream", "searches", "sniffing")

    def __init__(self, stream: StreamInspection) -> None:
        self.stream = stream
        self.searches: dict[str, DecodedSearch] = {}
        # label -> the decoder of the message under way (None: it does not start so)
        self.sniffing: dict[str, HeaderlessStream | None] = {}

    def message_bytes(self, label: str, data: bytes, frame: int) -> None:
        search = self.searches.get(label)
        if search is None:
            search = self.searches[label] = DecodedSearch(
                self.stream.flow.inspector.scanner, self.stream.flow.pairing
            )
        self._add(label, search.feed(data, frame))
        if label not in self.sniffing:  # the message's first bytes
            self.sniffing[label] = self._decoder(label, data, frame)
        decoder = self.sniffing[label]
        if decoder is not None and not decoder.data(data, frame, 0.0):
            self.sniffing[label] = None  # it stopped: the rest is searched as sent
            self._said(decoder)

    def message_end(self, label: str, frame: int) -> None:
        search = self.searches.get(label)
        if search is not None:
            self._add(label, search.end_message(frame))
        decoder = self.sniffing.pop(label, None)  # the next message is sniffed anew
        if decoder is not None:
            decoder.close(frame)
            self._said(decoder)

    def control(self, data: bytes, frame: int) -> None:
        self.stream.alone(0, data, frame, WEBSOCKET)

    def finish(self) -> None:
        for label, search in self.searches.items():
            self._add(label, search.finish())
        self.searches.clear()
        for decoder in self.sniffing.values():
            if decoder is not None:
                decoder.close(self.stream.frame)
                self._said(decoder)
        self.sniffing.clear()

    def _decoder(self, label: str, first: bytes, frame: int) -> HeaderlessStream | None:
        coding = sniffed(first[:SNIFF_LENGTH]) if first.startswith(MAGIC_STARTS) else None
        if coding is None:
            return None
        stream, flow = self.stream, self.stream.flow
        sink = _DecodedSearch(stream, f"{label}+", 0)
        what = f"WebSocket message {stream.direction}"
        return HeaderlessStream(
            flow.facts, flow.decoding(), coding, sink, what, quiet=stream.gave_up
        )

    def _said(self, decoder: HeaderlessStream) -> None:
        if decoder.failed:
            self.stream.gave_up = True  # one note per direction, as for HTTP bodies

    def _add(self, label: str, found: list[Found]) -> None:
        for hit, frame, evidence in found:
            self.stream._add(hit, frame, hit.start, evidence, label)


def _shift(hit: Hit, offset: int) -> Hit:
    return Hit(hit.start + offset, hit.end + offset, hit.pattern)


def _join(prefix: str, label: str) -> str:
    """A chain of labels: "multipart+base64" and "gzip" make "multipart+base64+gzip"."""
    return f"{prefix}+{label}" if prefix and label else prefix or label


def _message_name(message: HttpMessage) -> str:
    """ "POST" for a request, "response (404)" for a response."""
    if message.is_request:
        return message.method or "request"
    return f"response ({message.status})" if message.status is not None else "response"
