"""Craft an intercepted cycle's files (X.intercepted.jsonl and X.interception.json) as the
interceptor's addon writes them (benches/capture/interception/files.py), for the tests."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tests.support.pcaps import START


def message(
    kind: str,
    client: str,
    server: str,
    body: bytes = b"",
    *,
    flow: str = "f1",
    http_version: str = "HTTP/2.0",
    method: str = "POST",
    host: str = "analytics.partner.example",
    path: str = "/v1/events",
    status: int | None = None,
    headers: Sequence[tuple[str, str]] = (),
    sni: str | None = "analytics.partner.example",
    truncated_to: int | None = None,
    time: float = START + 0.05,
) -> dict[str, Any]:
    kept = body if truncated_to is None else body[:truncated_to]
    return {
        "kind": kind, "flow": flow, "client": client, "server": server, "sni": sni,
        "http_version": http_version, "method": method, "host": host, "path": path,
        "status": status if kind == "request" else (status or 200),
        "headers": [list(h) for h in headers], "content": base64.b64encode(kept).decode(),
        "content_size": len(body), "content_truncated": truncated_to is not None, "time": time,
    }  # fmt: skip


def gzip_json_post(client: str, server: str, payload: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """The analytics client's request: gzip'd JSON over HTTP/2."""
    body = gzip.compress(json.dumps(payload).encode())
    headers = [("content-type", "application/json"), ("content-encoding", "gzip")]
    return message("request", client, server, body, headers=headers, **kw)


def tls_failed(client: str, server: str, sni: str | None, error: str) -> dict[str, Any]:
    return {"kind": "tls_failed", "client": client, "server": server, "sni": sni,
            "error": error, "time": START + 0.05}  # fmt: skip


def websocket(
    client: str, server: str, content: bytes, *, flow: str = "w1", from_client: bool = True
) -> dict[str, Any]:
    return {"kind": "websocket", "flow": flow, "client": client, "server": server,
            "sni": None, "from_client": from_client, "text": True,
            "content": base64.b64encode(content).decode(), "time": START + 0.06}  # fmt: skip


def meta(phone: str, *, complete: bool = True, reason: str | None = None,
         ports: Sequence[int] = (443,)) -> dict[str, Any]:  # fmt: skip
    return {"interceptor": "mitmproxy 11.0.2", "mode": "transparent", "ports": list(ports),
            "phone": phone, "window": [START, START + 60], "complete": complete,
            "reason": reason}  # fmt: skip


def write_intercepted(
    pcap: Path, records: Iterable[dict[str, Any] | bytes], meta_value: dict[str, Any] | None
) -> Path:
    """X.intercepted.jsonl beside ``pcap`` (a bytes record is written as it is: a hostile
    line), and X.interception.json unless ``meta_value`` is None. Returns the JSONL path."""
    stem = pcap.with_suffix("")
    messages = stem.with_name(stem.name + ".intercepted.jsonl")
    with messages.open("wb") as out:
        for record in records:
            line = record if isinstance(record, bytes) else json.dumps(record).encode()
            out.write(line + b"\n")
    if meta_value is not None:
        stem.with_name(stem.name + ".interception.json").write_text(json.dumps(meta_value))
    return messages
