"""A served serial port on a pty; the bench opens its slave through a link at the declared path.

The path becomes a symlink to the pty's ``/dev/pts/N`` (parent folders are
made, and the link is removed at `stop()`). Only a stale link of the same kind
(to a ``/dev/pts/N`` that a killed run left) is replaced: anything else at the
path, a file, a folder or another link (``/dev/serial/by-id/...``), may be a
real device or someone's file, and the port refuses to start. The simulator
never removes a file it did not create.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import select
import termios
import threading
import tty
from pathlib import Path

from benches.sim.serial.base import POLL_S, DataSink, SerialServeError, ServedPort, deliver

log = logging.getLogger(__name__)

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
        if os.path.lexists(self.link) and not _stale_pty_link(self.link):
            raise SerialServeError(
                f"{self.name}: {self.link} exists and is not a link to a pty "
                "(/dev/pts/N) a virtual rack left; not replacing it"
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


def _stale_pty_link(path: Path) -> bool:
    """Whether ``path`` is a link to a pty's ``/dev/pts/N``, as this module makes them."""
    try:
        target = os.readlink(path)
    except OSError:
        return False
    folder, _, number = target.rpartition("/")
    return folder == "/dev/pts" and number.isdigit()


def _link(link: Path, target: str) -> None:
    """Point `link` at `target`, replacing a stale pty link in one step.

    The temporary link gets a name no one uses (``os.symlink`` never replaces):
    nothing that was there before is removed.
    """
    link.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        temporary = link.with_name(f".{link.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.symlink(target, temporary)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"{link}: no free temporary name beside it")
    if os.path.lexists(link) and not _stale_pty_link(link):  # appeared since start() looked
        temporary.unlink()
        raise FileExistsError(f"{link} appeared and is not a stale pty link")
    os.replace(temporary, link)
