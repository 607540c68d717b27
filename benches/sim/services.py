"""The virtual rack's internet: a DNS resolver and HTTP/TLS endpoints on loopback.

Every server binds a 127.0.0.0/8 address from devices.yaml (the loader refuses
any other), so simulated traffic never leaves this machine. Ports are the real
ones (53, 80, 443) so captures look like a real phone's and any tool decodes
them; binding them needs root or CAP_NET_BIND_SERVICE, as capture needs root.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benches.inventory.virtual import Endpoint
from benches.sim import dns_wire
from benches.sim.certs import write_self_signed

log = logging.getLogger(__name__)

DNS_PORT = 53
HTTP_PORT = 80
HTTPS_PORT = 443


class Resolver:
    """A UDP DNS server that knows the endpoints' names and nothing else."""

    def __init__(self, address: str, names: dict[str, str]) -> None:
        self.address = address
        self.names = {name.lower(): ip for name, ip in names.items()}
        self.queries: list[str] = []  # every name asked, in order
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((address, DNS_PORT))
        self._thread = threading.Thread(target=self._serve, name="sim-resolver", daemon=True)
        self._stopping = False

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                packet, peer = self._sock.recvfrom(4096)
            except OSError:
                return  # closed by stop()
            if self._stopping:
                return
            question = dns_wire.parse_question(packet)
            if question is None:
                log.warning("resolver: unreadable query from %s ignored", peer[0])
                continue
            self.queries.append(question.name)
            answer = dns_wire.build_answer(question, self.names.get(question.name))
            self._sock.sendto(answer, peer)

    def stop(self) -> None:
        self._stopping = True
        # shutdown() wakes the thread blocked in recvfrom; close() alone may not.
        with contextlib.suppress(OSError):  # not connected: nothing to shut down
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=5)


class _EndpointHandler(BaseHTTPRequestHandler):
    server_version = "sim-endpoint/1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/generate_204"):
            self._reply(204, b"")
        else:
            self._reply(200, b'{"status":"ok"}')

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._reply(200, b'{"status":"ok"}')

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

    def __init__(self, endpoints: Iterable[Endpoint], cert_dir: Path) -> None:
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        for endpoint in endpoints:
            self._servers.append(
                _LoopbackHTTPServer((endpoint.address, HTTP_PORT), _EndpointHandler)
            )
            tls = _LoopbackHTTPServer((endpoint.address, HTTPS_PORT), _EndpointHandler)
            cert, key = write_self_signed(endpoint.host, cert_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            tls.socket = context.wrap_socket(tls.socket, server_side=True)
            self._servers.append(tls)

    def start(self) -> None:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, name="sim-endpoint", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
