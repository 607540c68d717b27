"""How a virtual phone uses the network: every socket starts from the phone's own address."""

from __future__ import annotations

import errno
import random
import socket
import ssl
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benches.sim.network import dns, http2
from benches.sim.network.endpoints import HTTP_PORT, HTTPS_PORT
from benches.sim.network.resolver import DNS_PORT
from benches.sim.network.trust import TrustStore, empty_context


class NetworkUnreachable(OSError):
    pass


@dataclass(frozen=True)
class PingResult:
    address: str | None  # None: the name did not resolve
    replies: int


class PhoneNetwork:
    def __init__(
        self, source: str, resolver: str, timeout: float = 2.0, *, trust: TrustStore | None = None
    ) -> None:
        self.source = source
        self.resolver = resolver
        # The CAs its TLS clients trust: the phone's system store (None: an empty one).
        self.trust = trust
        self.timeout = timeout
        self.enabled = True  # `svc wifi disable` and `svc data disable` both off

    def _check_up(self) -> None:
        if not self.enabled:
            raise NetworkUnreachable(errno.ENETUNREACH, "network is down on the phone")

    def resolve(self, name: str) -> str | None:
        self._check_up()
        txid = random.randrange(1, 0xFFFF)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.source, 0))
            sock.settimeout(self.timeout)
            sock.sendto(dns.build_query(txid, name), (self.resolver, DNS_PORT))
            try:
                response, _ = sock.recvfrom(4096)
            except TimeoutError:
                return None
        return dns.first_address(response, txid)

    def http(
        self,
        host: str,
        method: str,
        path: str,
        body: bytes = b"",
        tls: bool = False,
        *,
        headers: Sequence[tuple[str, str]] = (),
        context: ssl.SSLContext | None = None,
    ) -> int:
        """One request to `host`, resolved through the phone's resolver; the status.

        Over TLS the client trusts the phone's system store (or `context`, an app's own
        pin), verifies the name, and speaks HTTP/2 when the server chooses it by ALPN."""
        address = self.resolve(host)
        if address is None:
            raise OSError(f"cannot resolve {host}")
        port = HTTPS_PORT if tls else HTTP_PORT
        self._check_up()  # the network may have gone (a power cut) during the lookup
        fields = [
            ("User-Agent", "Dalvik/2.1.0"),
            ("Content-Type", "application/json"),
            *headers,
        ]
        raw = socket.create_connection(
            (address, port), timeout=self.timeout, source_address=(self.source, 0)
        )
        with raw:
            sock: socket.socket = raw
            if tls:
                self._check_up()  # no handshake after a power cut
                context = context or (self.trust.context() if self.trust else empty_context())
                sock = context.wrap_socket(raw, server_hostname=host)
                if sock.selected_alpn_protocol() == "h2":
                    return http2.request(sock, host, method, path, fields, body)
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in fields)
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            self._check_up()
            sock.sendall(head.encode() + body)
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        status_line = response.split(b"\r\n", 1)[0].split()
        return int(status_line[1]) if len(status_line) > 1 else 0

    def ping(self, name: str, count: int = 1) -> PingResult:
        """Resolve `name`, then send ICMP echo requests from the phone's address."""
        address = self.resolve(name)
        if address is None:
            return PingResult(None, 0)
        identifier = random.randrange(1, 0xFFFF)
        replies = 0
        # A raw socket, as Android's ping uses when it may; the virtual rack runs as root.
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
            sock.bind((self.source, 0))
            sock.settimeout(self.timeout)
            for sequence in range(1, count + 1):
                sock.sendto(_echo_request(identifier, sequence), (address, 0))
                if _await_echo_reply(sock, identifier, sequence, self.timeout):
                    replies += 1
        return PingResult(address, replies)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo_request(identifier: int, sequence: int) -> bytes:
    payload = b"bench-ping"
    header = struct.pack("!BBHHH", 8, 0, 0, identifier, sequence)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", 8, 0, checksum, identifier, sequence) + payload


def _await_echo_reply(sock: socket.socket, identifier: int, sequence: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            packet = sock.recv(2048)
        except TimeoutError:
            return False
        icmp = packet[(packet[0] & 0x0F) * 4 :]  # skip the IP header a raw socket hands us
        if (
            len(icmp) >= 8
            and icmp[0] == 0
            and struct.unpack("!HH", icmp[4:8])
            == (
                identifier,
                sequence,
            )
        ):
            return True
    return False
