"""A TEST addon for mitmdump 11.0.2: writes X.intercepted.jsonl as the contract in
benches/capture/interception/files.py describes it, for the analysis side's tests.

It is NOT the bench's addon (tlsgw writes that one, under benches/capture/interception/);
once it is merged, the tests should load it instead. It imports only mitmproxy and the
standard library, as the bench's must (it runs inside mitmdump's own venv).

Environment: BENCH_TEST_JSONL (the file to append to); BENCH_TEST_ANSWER=1 makes mitmdump
answer every request itself (200, a small JSON), so no upstream server is needed.
``server`` is the address the client connected to (``client_conn.sockname``): in the
test's reverse mode that is what the capture shows as the destination; in transparent
mode it would be the original destination.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from mitmproxy import http, tls


def _address(address: Any) -> str | None:
    if not address:
        return None
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


class JsonlWriter:
    def __init__(self) -> None:
        self.file = open(os.environ["BENCH_TEST_JSONL"], "a", buffering=1)  # noqa: SIM115
        self.answer = os.environ.get("BENCH_TEST_ANSWER") == "1"

    def _write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record) + "\n")

    def _message(self, flow: http.HTTPFlow, kind: str) -> dict[str, Any]:
        message = flow.request if kind == "request" else flow.response
        assert message is not None
        content = message.raw_content or b""
        client = flow.client_conn
        return {
            "kind": kind,
            "flow": flow.id,
            "client": _address(client.peername),
            "server": _address(client.sockname),
            "sni": client.sni,
            "http_version": message.http_version,
            "method": flow.request.method,
            "host": flow.request.host_header or flow.request.host,
            "path": flow.request.path,
            "status": flow.response.status_code if kind == "response" and flow.response else None,
            "headers": [[_text(n), _text(v)] for n, v in message.headers.fields],
            "content": base64.b64encode(content).decode(),
            "content_size": len(content),
            "content_truncated": False,
            "time": message.timestamp_start,
        }

    def request(self, flow: http.HTTPFlow) -> None:
        self._write(self._message(flow, "request"))
        if self.answer:
            flow.response = http.Response.make(
                200, b'{"ok":true}', {"content-type": "application/json"}
            )

    def response(self, flow: http.HTTPFlow) -> None:
        self._write(self._message(flow, "response"))

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        client = flow.client_conn
        self._write({
            "kind": "websocket", "flow": flow.id, "client": _address(client.peername),
            "server": _address(client.sockname), "sni": client.sni,
            "from_client": message.from_client, "text": message.is_text,
            "content": base64.b64encode(message.content).decode(), "time": message.timestamp,
        })  # fmt: skip

    def tls_failed_client(self, data: tls.TlsData) -> None:
        client = data.context.client
        self._write({
            "kind": "tls_failed", "client": _address(client.peername),
            "server": _address(client.sockname), "sni": client.sni,
            "error": str(client.error or "handshake failed"), "time": client.timestamp_start,
        })  # fmt: skip


addons = [JsonlWriter()]
