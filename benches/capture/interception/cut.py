"""Cutting the interceptor's session spool into one cycle's files (files.py's four).

A cycle's share of the spool is what the phone's own address sent or received
inside the window (wall-clock seconds): its messages (a response joins its
request's flow even when it ends after the window), its TLS sessions' key-log
lines (by the client randoms the addon recorded for the phone), and its flows'
byte ranges in mitmproxy's flow file. Each phone's next cut reads the spool
from where its previous one stopped, so a session's cuts cost what the spool
holds times the phones, never a re-read of the whole session per cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benches.capture.interception.files import InterceptionFiles
from benches.capture.interception.interceptor import KEYLOG
from benches.redaction.safe_files import PRIVATE, write_file

MESSAGES = "messages.jsonl"
CONNECTIONS = "connections.jsonl"
FLOWS = "flows.mitm"
FLOW_INDEX = "flows.index.jsonl"


@dataclass(frozen=True)
class CycleInterception:
    """What the bench knows of the interceptor over one window."""

    interceptor: str
    mode: str
    ports: tuple[int, ...]
    phone: str
    window: tuple[float, float]
    complete: bool
    reason: str | None
    quic_blocked: int | None = None  # the phone's QUIC datagrams the gateway dropped


@dataclass
class _Offsets:
    messages: int = 0
    connections: int = 0
    keylog: int = 0
    index: int = 0


@dataclass
class SpoolCutter:
    spool: Path
    _offsets: dict[str, _Offsets] = field(default_factory=dict)

    def cut(self, state: CycleInterception, pcap: Path, root: Path) -> InterceptionFiles:
        """Write the cycle's four files beside `pcap` (owner-only, below `root`)."""
        files = InterceptionFiles.beside(pcap)
        offsets = self._offsets.setdefault(state.phone, _Offsets())
        start, end = state.window

        messages, offsets.messages, unread = _lines(self.spool / MESSAGES, offsets.messages)
        kept: list[bytes] = []
        flows: set[str] = set()
        for raw, record in messages:
            if _host(record.get("client")) != state.phone:
                continue
            when = _number(record.get("time"))
            inside = start <= when <= end
            if inside and record.get("kind") == "request":
                flows.add(str(record.get("flow")))
            if inside or (record.get("kind") == "response" and record.get("flow") in flows):
                kept.append(raw)

        connections, offsets.connections, unread_connections = _lines(
            self.spool / CONNECTIONS, offsets.connections
        )
        unread += unread_connections
        randoms = {
            str(record.get("client_random", "")).lower()
            for _, record in connections
            if _host(record.get("client")) == state.phone
            and start <= _number(record.get("time")) <= end
        }
        keylog, offsets.keylog = _keylog(self.spool / KEYLOG, offsets.keylog, randoms)

        index, offsets.index, unread_index = _lines(self.spool / FLOW_INDEX, offsets.index)
        unread += unread_index
        ranges = [
            (int(record["offset"]), int(record["length"]))
            for _, record in index
            if _host(record.get("client")) == state.phone
            and (record.get("flow") in flows or start <= _number(record.get("time")) <= end)
        ]

        write_file(files.messages, b"".join(kept), root=root, mode=PRIVATE)
        write_file(files.keylog, b"".join(keylog), root=root, mode=PRIVATE)
        write_file(files.flows, _ranges(self.spool / FLOWS, ranges), root=root, mode=PRIVATE)
        meta = {
            "interceptor": state.interceptor,
            "mode": state.mode,
            "ports": list(state.ports),
            "phone": state.phone,
            "window": [state.window[0], state.window[1]],
            # The addon writes whole JSON lines: one that does not read is a spool damaged
            # (a disk full, a killed writer), and what it held is unknown: fail closed.
            "complete": state.complete and not unread,
            "reason": state.reason
            or (f"{unread} line(s) of the interceptor's spool did not read" if unread else None),
            # Added to files.py's meta: what the gateway's UDP 443 block dropped in the window.
            "quic_blocked": state.quic_blocked,
        }
        write_file(files.meta, json.dumps(meta, indent=1) + "\n", root=root, mode=PRIVATE)
        return files


def _host(address: object) -> str | None:
    if not isinstance(address, str):
        return None
    host = address.rsplit(":", 1)[0]
    return host.strip("[]")


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def _whole_lines(path: Path, offset: int) -> Iterator[tuple[bytes, int]]:
    """Each whole line from `offset` on, with the offset after it (a half-written
    last line is left for the next read)."""
    try:
        with path.open("rb") as data:
            data.seek(offset)
            for line in data:
                if not line.endswith(b"\n"):
                    return
                offset += len(line)
                yield line, offset
    except FileNotFoundError:
        return


def _lines(path: Path, offset: int) -> tuple[list[tuple[bytes, dict[str, Any]]], int, int]:
    """The records from `offset` on, the offset after them, and how many lines did not
    read as a JSON object."""
    records: list[tuple[bytes, dict[str, Any]]] = []
    unread = 0
    for line, after in _whole_lines(path, offset):
        offset = after
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append((line, record))
        else:
            unread += 1
    return records, offset, unread


def _keylog(path: Path, offset: int, randoms: set[str]) -> tuple[list[bytes], int]:
    """NSS key-log lines (``LABEL <client_random> <secret>``) of the given sessions."""
    kept: list[bytes] = []
    for line, after in _whole_lines(path, offset):
        offset = after
        fields = line.split()
        if len(fields) == 3 and fields[1].decode("ascii", "replace").lower() in randoms:
            kept.append(line)
    return kept, offset


def _ranges(path: Path, ranges: list[tuple[int, int]]) -> bytes:
    if not ranges:
        return b""
    chunks = []
    with path.open("rb") as data:
        for start, length in sorted(ranges):
            data.seek(start)
            chunks.append(data.read(length))
    return b"".join(chunks)
