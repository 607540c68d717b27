"""The virtual rack's DNS resolver on loopback: it knows the endpoints' names and nothing else.

It binds a 127.0.0.0/8 address from devices.yaml (the loader refuses any other),
on the real port 53, so captures look like a real phone's; binding it needs
root or CAP_NET_BIND_SERVICE, as capture needs root.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

from benches.sim.network import dns

log = logging.getLogger(__name__)

DNS_PORT = 53


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
            question = dns.parse_question(packet)
            if question is None:
                log.warning("resolver: unreadable query from %s ignored", peer[0])
                continue
            self.queries.append(question.name)
            answer = dns.build_answer(question, self.names.get(question.name))
            self._sock.sendto(answer, peer)

    def stop(self) -> None:
        self._stopping = True
        # shutdown() wakes the thread blocked in recvfrom; close() alone may not.
        with contextlib.suppress(OSError):  # not connected: nothing to shut down
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=5)
