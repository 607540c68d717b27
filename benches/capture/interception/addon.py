"""The bench's mitmproxy addon: what the interceptor writes to its session spool.

Loaded by `mitmdump -s` in mitmproxy's own virtual environment, so it imports
only mitmproxy and the standard library (never `benches`). The bench's venv
never imports it. Options (``--set name=value``):

- ``bench_spool``: the session's spool folder (made by the bench, owner-only);
- ``bench_body_cap``: the most bytes of one body kept (the rest is cut off and
  the record says ``content_truncated``).

The spool, every file owner-only and appended one whole line or flow at a time:

- ``messages.jsonl``: the records of ``files.py`` (request, response,
  websocket, tls_failed), each with the phone's ``client`` address;
- ``connections.jsonl``: ``{"client", "client_random", "time"}`` per TLS
  session with a phone, so the bench can cut the key log by phone;
- ``flows.mitm`` and ``flows.index.jsonl``: mitmproxy's flow file, and where
  each flow sits in it (``{"flow", "client", "offset", "length", "time"}``);
- ``ready``: written once the proxy servers listen (the ``running`` hook).

The key log itself is mitmproxy's (``MITMPROXY_SSLKEYLOGFILE``, read once when
mitmproxy starts), which the bench points into the spool.
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http, tls
from mitmproxy import io as flow_io
from mitmproxy.proxy import mode_specs

DEFAULT_BODY_CAP = 4 * 1024 * 1024


def _append_only(path: Path) -> Any:
    # Never through a link planted in the spool (the bench made the folder owner-only).
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags, 0o600)
    return os.fdopen(descriptor, "ab", buffering=0)


def _address(address: Any) -> str | None:
    if not address:
        return None
    return f"{address[0]}:{address[1]}"


class BenchSpool:
    def __init__(self) -> None:
        self.folder: Path | None = None
        self._files: dict[str, Any] = {}

    def load(self, loader: Any) -> None:
        loader.add_option("bench_spool", str, "", "the bench's session spool folder")
        loader.add_option("bench_body_cap", int, DEFAULT_BODY_CAP, "bytes kept of one body")

    def configure(self, updated: set[str]) -> None:
        if "bench_spool" in updated and ctx.options.bench_spool:
            self.folder = Path(ctx.options.bench_spool)

    def running(self) -> None:
        if self.folder is not None:
            with _append_only(self.folder / "ready") as ready:
                ready.write(f"{os.getpid()}\n".encode())

    def done(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    # --- what the spool receives -------------------------------------------------

    def _write(self, name: str, data: bytes) -> int:
        """Append `data` to spool file `name` in one write; the offset it starts at."""
        if self.folder is None:
            return 0
        handle = self._files.get(name)
        if handle is None:
            handle = self._files[name] = _append_only(self.folder / name)
        offset = handle.seek(0, io.SEEK_END)
        handle.write(data)
        return int(offset)

    def _record(self, name: str, record: dict[str, Any]) -> None:
        self._write(name, (json.dumps(record, separators=(",", ":")) + "\n").encode())

    def _ends(self, flow: Any) -> dict[str, Any]:
        client = flow.client_conn
        # Reverse mode listens on the endpoint's own address: the phone's original
        # destination is where it connected; transparent mode keeps it as the server.
        if isinstance(client.proxy_mode, mode_specs.ReverseMode):
            server = _address(client.sockname)
        else:
            server = _address(flow.server_conn.address)
        return {"client": _address(client.peername), "server": server, "sni": client.sni}

    def _body(self, content: bytes | None) -> dict[str, Any]:
        content = content or b""
        cap = max(0, int(ctx.options.bench_body_cap))
        return {
            "content": base64.b64encode(content[:cap]).decode("ascii"),
            "content_size": len(content),
            "content_truncated": len(content) > cap,
        }

    def _message(self, kind: str, flow: Any, message: Any, when: float | None) -> None:
        request = flow.request
        record = {
            "kind": kind,
            "flow": flow.id,
            **self._ends(flow),
            "http_version": message.http_version,
            "method": request.method,
            "host": request.pretty_host,
            "path": request.path,
            "status": message.status_code if kind == "response" else None,
            "headers": [[name, value] for name, value in message.headers.items(multi=True)],
            **self._body(message.raw_content),
            "time": when if when is not None else time.time(),
        }
        self._record("messages.jsonl", record)

    def _save_flow(self, flow: Any) -> None:
        buffer = io.BytesIO()
        flow_io.FlowWriter(buffer).add(flow)
        data = buffer.getvalue()
        offset = self._write("flows.mitm", data)
        entry = {
            "flow": flow.id,
            "client": _address(flow.client_conn.peername),
            "offset": offset,
            "length": len(data),
            "time": flow.request.timestamp_start if flow.request else time.time(),
        }
        self._record("flows.index.jsonl", entry)

    # --- mitmproxy's hooks -------------------------------------------------------

    def request(self, flow: http.HTTPFlow) -> None:
        self._message("request", flow, flow.request, flow.request.timestamp_start)

    def response(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        self._message("response", flow, flow.response, flow.response.timestamp_start)
        if flow.websocket is None:
            self._save_flow(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._save_flow(flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        record = {
            "kind": "websocket",
            "flow": flow.id,
            **self._ends(flow),
            "from_client": message.from_client,
            "text": message.is_text,
            "content": base64.b64encode(message.content).decode("ascii"),
            "time": message.timestamp,
        }
        self._record("messages.jsonl", record)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self._save_flow(flow)

    def tls_established_client(self, data: tls.TlsData) -> None:
        self._connection(data)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        self._connection(data)
        client = data.conn
        if isinstance(client.proxy_mode, mode_specs.ReverseMode):
            server = _address(client.sockname)
        else:
            server = _address(data.context.server.address)
        record = {
            "kind": "tls_failed",
            "client": _address(client.peername),
            "server": server,
            "sni": client.sni,
            "error": str(client.error or "handshake failed"),
            "time": time.time(),
        }
        self._record("messages.jsonl", record)

    def _connection(self, data: tls.TlsData) -> None:
        """The session's client random: the key log's lines for it belong to this phone."""
        try:
            random = data.ssl_conn.client_random() if data.ssl_conn is not None else None
        except Exception:  # noqa: BLE001 - pyOpenSSL raises on a session that never began
            random = None
        if random:
            record = {
                "client": _address(data.conn.peername),
                "client_random": random.hex(),
                "time": time.time(),
            }
            self._record("connections.jsonl", record)


addons = [BenchSpool()]
