"""The device side of fastboot over TCP, so the real `fastboot` binary flashes virtual phones.

``FastbootServer`` listens like a bootloader reached with ``fastboot -s tcp:HOST:PORT``
(system/core/fastboot/README.md, "TCP Protocol v1"):

* the host sends ``FB`` and a two-digit version, the server answers ``FB01``; a
  malformed handshake or version 00 drops the connection;
* then every packet each way is an 8-byte big-endian length and the payload,
  which is the USB protocol: commands up to 4096 bytes, answers ``OKAY``,
  ``FAIL``, ``INFO`` or ``DATA`` plus text.

It serves ``getvar`` (unknown names FAIL, as current bootloaders do; ``all``
lists every variable as INFO), ``download`` (refused above
``max-download-size``), ``flash`` and ``erase`` of its own partitions only,
``reboot``, ``reboot-bootloader``, ``reboot-recovery`` and ``continue``. Anything
else FAILs. Like a bootloader it serves one host at a time; a connection that
breaks the framing is dropped, and the next one is served as usual.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping

from benches.sim.fastboot.session import FastbootSession, HostGone, ProtocolError, recv_exact
from benches.sim.network.listener import tcp_listener

log = logging.getLogger(__name__)

HANDSHAKE = b"FB01"
DEFAULT_MAX_DOWNLOAD = 0x10000000  # 256 MiB, what many real bootloaders announce
DEFAULT_PARTITIONS = ("boot", "system", "vendor", "recovery", "userdata", "cache")
IDLE_TIMEOUT_S = 60.0  # a host that goes silent mid-command is dropped after this


def bootloader_variables(product: str, serialno: str) -> dict[str, str]:
    """The variables a phone's bootloader answers, besides ``max-download-size``.

    ``fastboot update`` first reads ``version-bootloader``, ``version-baseband`` and
    ``serialno`` for its info dump, then ``product`` for ``require board=``.
    """
    return {
        "version": "0.4",
        "product": product,
        "serialno": serialno,
        "version-bootloader": "virtual-1.0",
        "version-baseband": "virtual-1.0",
        "secure": "yes",
        "unlocked": "yes",  # a locked bootloader would refuse to flash
    }


class FastbootServer:
    """A TCP fastboot bootloader for one virtual phone.

    Args:
        host, port: loopback address to listen on (port 0 picks a free one).
        variables: what ``getvar`` answers (``product``, ``serialno``, ...).
            ``max-download-size`` always comes from ``max_download_size``.
        on_flash: called with the partition and the downloaded bytes at every
            successful ``flash``; an exception there makes the flash FAIL.
        on_reboot: called after the answer to a reboot: "" (``reboot``,
            ``continue``), "bootloader" or "recovery". The connection is then closed.
        partitions: the partitions ``flash`` and ``erase`` accept.
    """

    def __init__(
        self,
        host: str,
        port: int,
        variables: Mapping[str, str],
        on_flash: Callable[[str, bytes], None],
        on_reboot: Callable[[str], None],
        *,
        partitions: Iterable[str] = DEFAULT_PARTITIONS,
        max_download_size: int = DEFAULT_MAX_DOWNLOAD,
        idle_timeout: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.host = host
        self.port = port
        self.partitions = tuple(partitions)
        self.max_download_size = max_download_size
        self.variables = dict(variables)
        self.variables["max-download-size"] = f"0x{max_download_size:08x}"
        self.on_flash = on_flash
        self.on_reboot = on_reboot
        self.idle_timeout = idle_timeout
        self.flashed: dict[str, bytes] = {}  # partition -> the bytes last written to it
        self.erased: list[str] = []
        self.commands: list[str] = []  # every command received, in order
        self.internal_errors = 0  # exceptions that were bugs here, not the host's fault
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def serial(self) -> str:
        """fastboot's name for this device: ``fastboot -s tcp:HOST:PORT``."""
        return f"tcp:{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._listener is not None

    def __enter__(self) -> FastbootServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (again). Idempotent; restartable on the same host:port."""
        with self._lock:
            if self._listener is not None:
                return
            listener = tcp_listener(self.host, self.port, 4)
            self.port = listener.getsockname()[1]
            self._listener = listener
            self._stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._serve,
                args=(listener, self._stopping),
                daemon=True,
                name=f"fastboot-{self.port}",
            )
            self._thread.start()
        log.debug("fastboot %s: listening", self.serial)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and the live connection; join the server thread. Idempotent."""
        with self._lock:
            listener, self._listener = self._listener, None
            thread, self._thread = self._thread, None
            conn = self._conn
            self._stopping.set()
        if listener is None:
            return
        # On Linux shutdown() wakes a thread blocked in accept() or recv(); close() alone does not.
        for sock in (listener, conn):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        listener.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        log.debug("fastboot %s: stopped", self.serial)

    # -- one host at a time ------------------------------------------------------
    def _serve(self, listener: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                break
            with self._lock:
                if stopping.is_set():
                    conn.close()
                    break
                self._conn = conn
            try:
                conn.settimeout(self.idle_timeout)
                self._session(conn)
            except (HostGone, ProtocolError, OSError) as exc:
                log.debug("fastboot %s: connection dropped: %s", self.serial, exc)
            except Exception:  # a bug here must not take the bootloader down
                self.internal_errors += 1
                log.exception("fastboot %s: connection failed", self.serial)
            finally:
                with self._lock:
                    self._conn = None
                conn.close()

    def _session(self, conn: socket.socket) -> None:
        hello = recv_exact(conn, 4)
        if hello[:2] != b"FB" or not hello[2:].isdigit() or int(hello[2:]) < 1:
            raise ProtocolError(f"bad handshake {hello!r}")
        conn.sendall(HANDSHAKE)
        session = FastbootSession(self, conn)
        while session.serve_one():
            pass

    def write(self, partition: str, data: bytes) -> None:
        """Flash: the phone's callback first, so a failure there leaves `flashed` as it was."""
        self.on_flash(partition, data)
        self.flashed[partition] = data
