"""The far end of a serial port, for the virtual rack's relay boards and consoles.

`serve_port(port, on_data, name)` serves the port a devices.yaml entry names,
so that the bench's pyserial opens it exactly as it would a real one:

* a device path: a pty in raw mode; the path becomes a symlink to its
  ``/dev/pts/N`` (a stale symlink is replaced, parent folders are made, and the
  link is removed at `stop()`). Something that is not a symlink is never
  replaced: that may be a real device.
* ``socket://HOST:PORT``: a TCP listener, one client at a time (ser2net's raw mode).
* ``rfc2217://HOST:PORT``: the same with pyserial's RFC 2217 server side in
  front, as ser2net's telnet mode with RFC 2217 is.

HOST must be a loopback address: simulated traffic stays on this machine.

`on_data(bytes)` gets what the bench wrote, on the port's own thread. `send()`
goes the other way and never blocks: with no one listening, or a full buffer,
the bytes are dropped, as a UART's are when nothing reads the line.
`line_baud()` is the baud rate the bench set (None where the line has none,
as on socket://), so an emulator can garble a line set to the wrong speed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import termios
import threading
import tty
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

POLL_S = 0.1

DataSink = Callable[[bytes], None]


class SerialServeError(RuntimeError):
    """A virtual port could not be served; the message is one line."""


class ServedPort:
    """What every served port offers; see the module's docstring."""

    def __init__(self, port: str, on_data: DataSink, name: str) -> None:
        self.port = port
        self.on_data = on_data
        self.name = name

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def line_baud(self) -> int | None:
        return None


def serve_port(port: str, on_data: DataSink, name: str) -> ServedPort:
    """The served port for `port` (not started yet)."""
    from benches.sim.serial.tcp_port import TcpPort, loopback_endpoint

    scheme, sep, rest = port.partition("://")
    if not sep:
        return PtyPort(port, on_data, name)
    if scheme not in ("socket", "rfc2217"):
        raise SerialServeError(f"{name}: cannot serve {port}: only socket:// and rfc2217:// URLs")
    host, number = loopback_endpoint(rest, f"{name}: cannot serve {port}")
    return TcpPort(port, on_data, name, host, number, rfc2217=scheme == "rfc2217")


_SPEEDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200)
    + (38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000)
    + (1500000, 2000000, 2500000, 3000000, 3500000, 4000000)
    if hasattr(termios, f"B{rate}")
}


class PtyPort(ServedPort):
    """A pty whose slave the bench opens through a symlink at the declared path."""

    def __init__(self, port: str, on_data: DataSink, name: str) -> None:
        super().__init__(port, on_data, name)
        self.link = Path(os.path.abspath(port))
        self.slave_name: str | None = None
        self._master: int | None = None
        self._wake: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self._send_lock = threading.Lock()

    def start(self) -> None:
        if os.path.lexists(self.link) and not self.link.is_symlink():
            raise SerialServeError(
                f"{self.name}: {self.link} exists and is not a symlink; not replacing it"
            )
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self.slave_name = os.ttyname(slave)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        try:
            _link(self.link, self.slave_name)
        except OSError as exc:
            os.close(master)
            raise SerialServeError(f"{self.name}: cannot link {self.link}: {exc}") from None
        self._master = master
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        log.info("%s: %s -> %s", self.name, self.link, self.slave_name)

    def stop(self) -> None:
        if self._thread is None or self._wake is None or self._master is None:
            return
        os.write(self._wake[1], b"x")
        self._thread.join()
        with self._send_lock:
            os.close(self._master)
            self._master = None
        for fd in self._wake:
            os.close(fd)
        self._thread = self._wake = None
        with contextlib.suppress(OSError):
            if os.readlink(self.link) == self.slave_name:
                self.link.unlink()

    def send(self, data: bytes) -> None:
        with self._send_lock:
            master = self._master
            if master is None or not self._listened_to(master):
                return
            with contextlib.suppress(BlockingIOError, OSError):
                while data:
                    data = data[os.write(master, data) :]

    def line_baud(self) -> int | None:
        if self._master is None:
            return None
        with contextlib.suppress(termios.error, OSError):
            return _SPEEDS.get(termios.tcgetattr(self._master)[5])
        return None

    @staticmethod
    def _listened_to(master: int) -> bool:
        """Whether anyone has the slave open: with no one, the master polls as hung up."""
        poller = select.poll()
        poller.register(master, select.POLLOUT)
        return not any(events & select.POLLHUP for _, events in poller.poll(0))

    def _serve(self) -> None:
        assert self._master is not None and self._wake is not None
        master, wake = self._master, self._wake[0]
        poller = select.poll()
        poller.register(master, select.POLLIN)
        poller.register(wake, select.POLLIN)
        while True:
            ready = dict(poller.poll(POLL_S * 1000))
            if wake in ready:
                return
            events = ready.get(master, 0)
            got_data = bool(events & select.POLLIN) and self._read_all(master)
            hung_up = events & (select.POLLHUP | select.POLLERR)
            if hung_up and not got_data and self._idle(wake):
                return

    @staticmethod
    def _idle(wake: int) -> bool:
        """No one has the port open, and the master polls as hung up until someone does:
        wait a little instead of spinning. True when stop() woke us."""
        return bool(select.select([wake], [], [], POLL_S)[0])

    def _read_all(self, master: int) -> bool:
        """Hand on everything readable now; whether there was anything."""
        got_data = False
        while True:
            try:
                data = os.read(master, 4096)
            except (BlockingIOError, OSError):  # EAGAIN, or EIO once the slave closed
                return got_data
            if not data:
                return got_data
            got_data = True
            deliver(self.on_data, data, self.name)


def deliver(on_data: DataSink, data: bytes, name: str) -> None:
    """Hand bytes to the emulator; a bug there is logged, and the port keeps serving."""
    try:
        on_data(data)
    except Exception:
        log.exception("%s: the emulator failed on %r", name, data[:64])


def _link(link: Path, target: str) -> None:
    """Point `link` at `target`, replacing a stale symlink in one step."""
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(target, temporary)
    os.replace(temporary, link)
