"""An intercepted cycle's files joined to its capture's flows, and searched.

Each record names its connection: the phone's address and port, and the original
destination. It joins the capture's TCP flow with that four-tuple (the one begun last
before the record, when a port was reused), so the flow's destination, country and
names come from the capture as for any flow; the Host the phone sent inside TLS is a
name it claims, checked against its DNS answers like an SNI. A connection the capture
does not show is a flow of its own, said so on it (INTERCEPTION_UNJOINED: the capture
and the interceptor disagree, which no pass may cover); its matches still count.

The phone's TLS flows are then told apart: opened (a decrypted message joined them),
opaque (on a port the interceptor takes, with none: the client refused its certificate;
TLS_OPAQUE, which the policy weighs), or not tried (a port it does not take). UDP to
port 443 while interception is on is a QUIC attempt the gateway blocked.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from benches.analysis.attribution.names import canonical, name_only
from benches.analysis.detection.scanner import Scanner
from benches.analysis.inspection import RawMatch
from benches.analysis.interception.records import (
    LineProblem,
    Message,
    Meta,
    TlsFailed,
    WebSocketMessage,
    read_meta,
    read_records,
)
from benches.analysis.interception.replay import Connection, Replay, chain_source
from benches.analysis.protocols.budget import DecodeBudget
from benches.analysis.protocols.notes import (
    DECODER_GAVE_UP,
    INTERCEPTION_UNJOINED,
    INTERCEPTION_UNREAD,
    TLS_OPAQUE,
    FlowNote,
)
from benches.analysis.readout import FlowRecord

OPENED, OPAQUE, NOT_TRIED = "opened", "opaque", "not tried"
QUIC_BLOCKED = "quic blocked"  # UDP to port 443 while the gateway blocks it
MESSAGES_SUFFIX, META_SUFFIX = ".intercepted.jsonl", ".interception.json"
DEFAULT_PORTS = frozenset({443})  # when no meta says which ports were taken
MAX_PROBLEMS = 20  # cycle problems said one by one; the rest counted


@dataclass(frozen=True)
class Intercepted:
    """What the interceptor left for one capture: its messages, and the meta beside them."""

    messages: Path
    meta: Path | None = None

    @classmethod
    def beside(cls, messages: Path) -> Intercepted:
        """The meta file is ``X.interception.json`` for ``X.intercepted.jsonl``."""
        name = messages.name
        stem = name[: -len(MESSAGES_SUFFIX)] if name.endswith(MESSAGES_SUFFIX) else messages.stem
        return cls(messages, messages.with_name(stem + META_SUFFIX))


@dataclass
class InterceptionReading:
    """What the files added to the capture's flows (indices into the flows given, then
    ``extra``, the connections the capture does not show)."""

    matches: list[RawMatch] = field(default_factory=list)
    notes: dict[int, list[FlowNote]] = field(default_factory=dict)
    hosts: dict[int, str] = field(default_factory=dict)
    status: dict[int, str] = field(default_factory=dict)  # OPENED, ..., QUIC_BLOCKED
    extra: list[FlowRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # for the whole cycle: no flow to say it on
    files: list[str] = field(default_factory=list)
    ports: frozenset[int] = frozenset()

    def note(self, flow: int, kind: str, detail: str, frame: int = 0) -> None:
        notes = self.notes.setdefault(flow, [])
        if all((n.kind, n.detail) != (kind, detail) for n in notes):
            notes.append(FlowNote(kind, detail, frame))

    def apply(self, flows: Sequence[FlowRecord]) -> list[FlowRecord]:
        """The flows with what the files said on them, then the extra ones."""
        out = list(flows)
        for index, record in enumerate([*flows, *self.extra]):
            notes, host = self.notes.get(index), self.hosts.get(index)
            if notes or (host and record.host is None):
                record = record._replace(
                    notes=(*record.notes, *(notes or ())),
                    host=record.host if record.host is not None else host,
                )
            if index < len(out):
                out[index] = record
            else:
                out.append(record)
        return out


class _Join:
    """The capture's TCP flows by four-tuple; a connection it lacks becomes an extra flow."""

    def __init__(self, flows: Sequence[FlowRecord], reading: InterceptionReading) -> None:
        self.flows = flows
        self.reading = reading
        self.by_tuple: dict[Connection, list[tuple[float, int]]] = {}
        for index, record in enumerate(flows):
            if record.proto == "tcp":
                key = (
                    (canonical(record.client_ip), record.client_port),
                    (canonical(record.server_ip), record.server_port),
                )
                self.by_tuple.setdefault(key, []).append((record.first_time, index))
        self.extra: dict[Connection, int] = {}

    def index(self, connection: Connection, time: float, name: str) -> int:
        found = self.by_tuple.get(connection)
        if found:
            at = bisect.bisect_right(found, (time, len(self.flows) + len(self.extra)))
            return found[max(at - 1, 0)][1]
        index = self.extra.get(connection)
        if index is None:
            index = self.extra[connection] = len(self.flows) + len(self.reading.extra)
            (client_ip, client_port), (server_ip, server_port) = connection
            self.reading.extra.append(
                FlowRecord(
                    -1,
                    name,
                    "tcp",
                    client_ip,
                    client_port,
                    server_ip,
                    server_port,
                    "tls",
                    None,
                    None,
                    True,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    time,
                    time,
                    0,
                    (),
                )  # fmt: skip
            )
            self.reading.note(
                index,
                INTERCEPTION_UNJOINED,
                f"the interceptor decrypted this connection ({name}) but the capture does"
                " not show it: the capture and the interceptor disagree",
            )
        return index

    def frame(self, connection: Connection, time: float) -> int:
        index = self.index(connection, time, "")
        return self.flows[index].first_frame if index < len(self.flows) else 0


def read_interception(
    sources: Sequence[Intercepted],
    flows: Sequence[FlowRecord],
    scanner: Scanner,
    phones: Collection[str],
) -> InterceptionReading:
    """Read every source against the capture's ``flows``; ``phones``: the rack phones'
    canonical addresses (their TLS flows are the ones told opened, opaque or not tried)."""
    reading = InterceptionReading()
    join = _Join(flows, reading)
    failed: dict[int, str] = {}
    ports: set[int] = set()
    phone_ips: set[str] = set()
    for source in sources:
        reading.files.append(str(source.messages))
        meta = _meta(source, reading)
        if meta is not None:
            ports |= meta.ports
            if meta.phone is not None:
                phone_ips.add(canonical(meta.phone))
        _read(source.messages, scanner, join, reading, failed)
    reading.ports = frozenset(ports) if ports else DEFAULT_PORTS
    _statuses(flows, reading, failed, phone_ips or {canonical(p) for p in phones})
    return reading


def _meta(source: Intercepted, reading: InterceptionReading) -> Meta | None:
    name = source.messages.name
    if source.meta is None:
        reading.problems.append(
            f"no meta file for {name}: whether the interceptor ran for the whole window is unknown"
        )
        return None
    meta = read_meta(source.meta)
    if isinstance(meta, str):
        reading.problems.append(f"interception meta unreadable: {meta}")
        return None
    if not meta.complete:
        reading.problems.append(
            f"the interceptor did not run for the whole window of {name}"
            f" ({' '.join((meta.reason or 'no reason given').split())[:200]})"
        )
    return meta


def _read(
    path: Path,
    scanner: Scanner,
    join: _Join,
    reading: InterceptionReading,
    failed: dict[int, str],
) -> None:
    name = path.name
    try:
        size = path.stat().st_size
        file = path.open("rb")
    except OSError as error:
        reading.problems.append(f"{name}: {error.strerror or error}: nothing decrypted was read")
        return
    replay = Replay(scanner, DecodeBudget.for_capture(size), str(path), join.frame)
    skipped = 0
    with file:
        for record in read_records(file):
            if isinstance(record, LineProblem):
                if record.connection is not None:
                    index = join.index(record.connection, 0.0, str(path))
                    reading.note(index, INTERCEPTION_UNREAD, _unread(name, record.detail))
                elif len(reading.problems) < MAX_PROBLEMS:
                    reading.problems.append(record.text(path))
                else:
                    skipped += 1
            elif isinstance(record, Message):
                index = join.index((record.client, record.server), record.time, str(path))
                reading.status[index] = OPENED
                if record.content_truncated:
                    reading.note(
                        index,
                        INTERCEPTION_UNREAD,
                        f"the interceptor kept part of an HTTP {record.kind} body only ({name}):"
                        " the rest was never searched",
                    )
                unread = replay.message(record)
                if unread is not None:
                    reading.note(index, INTERCEPTION_UNREAD, f"{unread} ({name})")
            elif isinstance(record, WebSocketMessage):
                connection = (record.client, record.server)
                index = join.index(connection, record.time, str(path))
                reading.status[index] = OPENED
                if replay.websocket(record):
                    reading.note(
                        index,
                        DECODER_GAVE_UP,
                        f"WebSocket messages with no switch to WebSocket before them in {name}"
                        " (begun before the window?): read as if switched",
                    )
            elif isinstance(record, TlsFailed):
                index = join.index((record.client, record.server), record.time, str(path))
                failed.setdefault(index, " ".join(record.error.split())[:200])
    replay.finish()
    if skipped:
        reading.problems.append(f"{name}: {skipped} more lines could not be read")
    for match in replay.inspector.matches:
        connection = replay.connections[match.flow]
        flow = join.index(connection, 0.0, str(path))
        source = chain_source(match.source, replay.carriers[match.flow])
        reading.matches.append(replace(match, flow=flow, source=source))
    for exchange, notes in replay.notes.items():
        flow = join.index(replay.connections[exchange], 0.0, str(path))
        for note in notes:
            reading.note(flow, note.kind, note.detail, note.frame)
    for exchange, host in replay.hosts.items():
        flow = join.index(replay.connections[exchange], 0.0, str(path))
        if name_only(host):
            reading.hosts.setdefault(flow, host)


def _unread(name: str, detail: str) -> str:
    return f"a record of {name} could not be read: {detail}"


def _statuses(
    flows: Sequence[FlowRecord],
    reading: InterceptionReading,
    failed: dict[int, str],
    phones: Collection[str],
) -> None:
    """Opened, opaque or not tried, for each of the phones' TLS flows; QUIC attempts."""
    for index, record in enumerate(flows):
        if canonical(record.client_ip) not in phones:
            continue
        if record.proto == "udp" and record.server_port == 443:
            reading.status[index] = QUIC_BLOCKED
            continue
        if record.proto != "tcp" or reading.status.get(index) == OPENED:
            continue
        # Bytes on a port the interceptor takes that no reader recognised (a ClientHello
        # from before the window, say) are as unread as TLS it did not open.
        unread = record.protocol == "tcp" and record.bytes_to_server > 0
        if not (record.tls or (unread and record.server_port in reading.ports)):
            continue
        if record.server_port not in reading.ports:
            reading.status[index] = NOT_TRIED
            continue
        reading.status[index] = OPAQUE
        why = failed.get(index)
        said = f"it refused the interceptor's certificate: {why}" if why else (
            "no message of it was decrypted (the client refused the interceptor's"
            " certificate, or sent nothing)"
        )  # fmt: skip
        reading.note(index, TLS_OPAQUE, f"TLS on port {record.server_port} not opened: {said}")
    for index, why in failed.items():  # refusals on flows not read as TLS, or not shown
        if reading.status.get(index) not in (OPENED, OPAQUE):
            reading.status[index] = OPAQUE
            reading.note(index, TLS_OPAQUE, f"TLS not opened: {why}")


def tls_text(counts: dict[str, int] | None) -> str | None:
    """ "TLS: 3 opened, 1 opaque, 0 not tried; 2 QUIC blocked", or None without interception."""
    if not counts:
        return None
    text = (
        f"TLS: {counts.get(OPENED, 0)} opened, {counts.get(OPAQUE, 0)} opaque,"
        f" {counts.get(NOT_TRIED, 0)} not tried"
    )
    blocked = counts.get(QUIC_BLOCKED, 0)
    return text + (f"; {blocked} QUIC blocked" if blocked else "")
