"""Served serial ports over TCP: ``socket://`` (raw) and ``rfc2217://`` (telnet + RFC 2217).

Both listen on a loopback address and serve one client at a time, as ser2net
does for a port. With RFC 2217, pyserial's own server side (`PortManager`)
answers the client's negotiation and line settings; the settings land on a
`LineState`, which stands for the UART behind the server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading

import serial
from serial.rfc2217 import PortManager

from benches.sim.network.listener import tcp_listener
from benches.sim.serial.base import POLL_S, DataSink, SerialServeError, ServedPort, deliver

log = logging.getLogger(__name__)


def loopback_endpoint(rest: str, context: str) -> tuple[str, int]:
    """HOST and PORT of ``HOST:PORT[?options]``; HOST must be in 127.0.0.0/8."""
    address = rest.split("?", 1)[0].rstrip("/")
    host, _, number = address.rpartition(":")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        is_loopback = ipaddress.IPv4Address(host) in ipaddress.IPv4Network("127.0.0.0/8")
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise SerialServeError(f"{context}: the host must be a 127.0.0.0/8 address, not {host!r}")
    if not number.isdigit() or not 1 <= int(number) <= 65535:
        raise SerialServeError(f"{context}: {number!r} is not a TCP port")
    return host, int(number)


class LineState:
    """The UART settings an RFC 2217 client sets, with no modem lines asserted."""

    def __init__(self) -> None:
        self.baudrate = 9600
        self.bytesize = serial.EIGHTBITS
        self.parity = serial.PARITY_NONE
        self.stopbits = serial.STOPBITS_ONE
        self.xonxoff = False
        self.rtscts = False
        self.break_condition = False
        self.dtr = True
        self.rts = True
        self.cts = self.dsr = self.ri = self.cd = False

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass


class Client:
    """One connected client; writes never block (a full socket buffer drops the rest)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock, contextlib.suppress(OSError):
            while data:
                data = data[self.sock.send(data, socket.MSG_DONTWAIT) :]


class TcpPort(ServedPort):
    def __init__(
        self, port: str, on_data: DataSink, name: str, host: str, number: int, rfc2217: bool
    ) -> None:
        super().__init__(port, on_data, name)
        self.host, self.number, self.rfc2217 = host, number, rfc2217
        self.line = LineState()
        self._client: Client | None = None
        self._manager: PortManager | None = None
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            listener = tcp_listener(self.host, self.number, 1, timeout=POLL_S)
        except OSError as exc:
            raise SerialServeError(f"{self.name}: cannot listen on {self.port}: {exc}") from None
        self._listener = listener
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join()
        self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def send(self, data: bytes) -> None:
        client, manager = self._client, self._manager
        if client is None:
            return
        if manager is not None:
            data = b"".join(manager.escape(data))
        client.write(data)

    def line_baud(self) -> int | None:
        return self.line.baudrate if self.rfc2217 and self._client is not None else None

    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                log.warning("%s: accept failed: %s", self.name, exc)
                return
            with sock:
                self._talk(sock)

    def _talk(self, sock: socket.socket) -> None:
        sock.settimeout(POLL_S)
        client = Client(sock)
        # A new client starts a new telnet negotiation; the line keeps its settings.
        self._manager = PortManager(self.line, client) if self.rfc2217 else None
        self._client = client
        try:
            while not self._stopping.is_set():
                try:
                    data = sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                if self._manager is not None:
                    data = b"".join(self._manager.filter(data))
                if data:
                    deliver(self.on_data, data, self.name)
        finally:
            self._client = self._manager = None
