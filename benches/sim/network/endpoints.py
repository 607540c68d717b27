"""The virtual rack's HTTP and TLS endpoints on loopback, one address per simulated host.

Every server binds a 127.0.0.0/8 address from devices.yaml (the loader refuses
any other), so simulated traffic never leaves this machine. Ports are the real
ones (80, 443) so captures look like a real phone's and any tool decodes them;
binding them needs root or CAP_NET_BIND_SERVICE, as capture needs root.
"""

from __future__ import annotations

import logging
import ssl
import tempfile
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benches.inventory.virtual import Endpoint
from benches.sim.network import http2
from benches.sim.network.certs import RackAuthority

log = logging.getLogger(__name__)

# How often an idle server looks for a shutdown: what stopping the rack waits at most
# (socketserver's default is half a second, at the end of every sign-off).
POLL_INTERVAL_S = 0.1

HTTP_PORT = 80
HTTPS_PORT = 443


def _reply(method: str, path: str) -> tuple[int, bytes]:
    if method == "GET" and path.startswith("/generate_204"):
        return 204, b""
    return 200, b'{"status":"ok"}'


class _EndpointHandler(BaseHTTPRequestHandler):
    server_version = "sim-endpoint/1"

    def handle(self) -> None:
        # A client that chose HTTP/2 by ALPN gets it; every other one HTTP/1.1.
        chosen = getattr(self.connection, "selected_alpn_protocol", lambda: None)()
        if chosen == "h2":
            http2.serve(self.connection, _reply)
        else:
            super().handle()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._reply(*_reply("GET", self.path))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._reply(*_reply("POST", self.path))

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)


class _LoopbackHTTPServer(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class EndpointServers:
    """HTTP on :80 and HTTPS on :443 for every endpoint, each on its own address."""

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        authority: RackAuthority,
        tls_port: int = HTTPS_PORT,
    ) -> None:
        """Each endpoint's certificate is issued by `authority` (the phones trust it);
        its TLS listens on `tls_port` (another than 443 when the interceptor takes 443)."""
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        # The certificates are only read into the TLS contexts: they live in a new,
        # owner-only folder for that moment (nothing planted can be in it) and go with it.
        with tempfile.TemporaryDirectory(prefix="virtual-rack-certs-") as cert_dir:
            for endpoint in endpoints:
                self._servers.append(
                    _LoopbackHTTPServer((endpoint.address, HTTP_PORT), _EndpointHandler)
                )
                tls = _LoopbackHTTPServer((endpoint.address, tls_port), _EndpointHandler)
                cert, key = authority.issue(endpoint.host, Path(cert_dir))
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(cert, key)
                context.set_alpn_protocols(["h2", "http/1.1"])
                tls.socket = context.wrap_socket(tls.socket, server_side=True)
                self._servers.append(tls)

    def start(self) -> None:
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL_S},
                name="sim-endpoint",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        # shutdown() waits for its server's next poll (POLL_INTERVAL_S): all at once, not
        # one after another (eight servers for the four endpoints).
        stopping = [
            threading.Thread(target=server.shutdown, name="sim-endpoint-stop", daemon=True)
            for server in self._servers
        ]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for server in self._servers:
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
