"""A phone, a gateway and a server in three network namespaces a test makes, joined by veth
pairs: phone 10.231.0.2 -- 10.231.0.1 gateway 10.231.1.1 -- 10.231.1.2 server.

`python -m tests.support.netns_gateway server|client ...` is what runs inside them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer

PHONE, GATEWAY_LAN, GATEWAY_WAN, SERVER = "10.231.0.2", "10.231.0.1", "10.231.1.1", "10.231.1.2"
HOST = "analytics.partner.example"


@dataclass(frozen=True)
class Namespaces:
    phone: str
    gateway: str
    server: str
    lan: str  # the gateway's interface on the phone's side

    def run(self, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", namespace, *args], capture_output=True, text=True, check=True
        )

    def launcher(self, namespace: str) -> tuple[str, ...]:
        return ("ip", "netns", "exec", namespace)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def three_namespaces() -> Iterator[Namespaces]:
    tag = f"{os.getpid() % 100000}"
    spaces = Namespaces(f"tlsgw-p{tag}", f"tlsgw-g{tag}", f"tlsgw-s{tag}", f"tgl{tag}")
    made: list[str] = []
    try:
        for name in (spaces.phone, spaces.gateway, spaces.server):
            _ip("netns", "add", name)
            made.append(name)
        _ip("link", "add", f"tpl{tag}", "type", "veth", "peer", "name", spaces.lan)
        _ip("link", "add", f"tsv{tag}", "type", "veth", "peer", "name", f"tgw{tag}")
        _ip("link", "set", f"tpl{tag}", "netns", spaces.phone)
        _ip("link", "set", spaces.lan, "netns", spaces.gateway)
        _ip("link", "set", f"tsv{tag}", "netns", spaces.server)
        _ip("link", "set", f"tgw{tag}", "netns", spaces.gateway)
        for namespace, link, address in (
            (spaces.phone, f"tpl{tag}", f"{PHONE}/24"),
            (spaces.gateway, spaces.lan, f"{GATEWAY_LAN}/24"),
            (spaces.gateway, f"tgw{tag}", f"{GATEWAY_WAN}/24"),
            (spaces.server, f"tsv{tag}", f"{SERVER}/24"),
        ):
            _ip("-n", namespace, "addr", "add", address, "dev", link)
            _ip("-n", namespace, "link", "set", link, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", spaces.phone, "route", "add", "default", "via", GATEWAY_LAN)
        _ip("-n", spaces.server, "route", "add", "default", "via", GATEWAY_WAN)
        spaces.run(spaces.gateway, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        yield spaces
    finally:
        for name in made:  # a namespace's veth ends go with it
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


class _Reply(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve(cert: str, key: str) -> None:
    server = HTTPServer((SERVER, 443), _Reply)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


def post(ca: str, imei: str) -> None:
    """What a phone does: its IMEI over TLS to the server, and a QUIC attempt first."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quic:
        quic.sendto(b"\xc0" + bytes(1199), (SERVER, 443))  # a long-header Initial's size
    context = ssl.create_default_context(cafile=ca)
    body = gzip.compress(json.dumps({"imei": imei}).encode())
    raw = socket.create_connection((SERVER, 443), timeout=10)
    with raw, context.wrap_socket(raw, server_hostname=HOST) as tls:
        head = (
            f"POST /v2/events HTTP/1.1\r\nHost: {HOST}\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(head.encode() + body)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    print(answer.split(b"\r\n", 1)[0].decode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["server", "client"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    parser.add_argument("--imei")
    options = parser.parse_args()
    if options.role == "server":
        serve(options.cert, options.key)
    else:
        post(options.ca, options.imei)
    sys.exit(0)
