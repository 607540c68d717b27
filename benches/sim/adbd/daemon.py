"""The device side of ADB over TCP, so the real adb server drives virtual phones.

``AdbDaemon`` listens on a loopback address like a phone's ``adbd`` after
``adb tcpip``; ``adb connect HOST:PORT`` (or ``AdbServer.connect``) attaches it to
the adb server, after which ``adb -s HOST:PORT shell ...``, ``adb reboot`` and
adbutils behave as with a real phone. Like real adbd, the daemon:

* answers the server's CNXN with its own (version 0x01000001, 256 KiB maxdata,
  banner ``device::<props from banner()>;features=shell_v2``); no AUTH, no TLS.
* serves ``shell:CMD`` and ``exec:CMD`` (raw output stream) and
  ``shell,v2,...:CMD`` (shell protocol: stdout packets, then the exit status)
  from ``shell(CMD)``. CMD is the whole command line as ``sh -c`` would get it,
  including adbutils' ``; echo X4EXIT:$?`` suffix and a ``reboot`` command
  (adbutils' ``reboot()`` is ``shell:reboot``): the shell callback owns shell
  syntax and commands. An empty CMD (interactive shell) is refused with a message.
* serves ``reboot:ARG`` (``adb reboot [ARG]``): ``on_reboot(ARG)`` runs after the
  stream is accepted, then the connections live at that moment are dropped, as
  the phone going down would. The daemon keeps listening; the virtual phone
  calls ``stop()`` / ``start()`` around its simulated boot.
* closes (CLSE) any other service, so the client reports it as closed.

Callbacks run on the daemon's threads, one per stream, so a slow command does not
stall other streams. A callback may call ``stop()``, ``start()`` or ``disconnect_all()``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping

from benches.sim.adbd.connection import Connection
from benches.sim.adbd.files import PhoneFiles
from benches.sim.adbd.protocols import ShellResult
from benches.sim.adbd.run import Run
from benches.sim.network.listener import tcp_listener

log = logging.getLogger(__name__)

DEFAULT_MAX_PAYLOAD = 256 * 1024
DEFAULT_FEATURES = ("shell_v2",)


class AdbDaemon:
    """A TCP adbd for one virtual phone.

    Args:
        host, port: loopback address to listen on (port 0 picks a free one; read
            ``.port`` after ``start()``).
        banner: returns the device properties for the CNXN banner, normally
            ``ro.product.name``, ``ro.product.model``, ``ro.product.device``.
            Called at every connection, so it may change across reboots.
        shell: runs one shell command line and returns its output and exit code.
        on_reboot: called with the reboot argument ("" for a plain reboot,
            "bootloader", "recovery", ...); afterwards the connections that were
            live when the reboot was asked for are dropped.
        max_payload: our CNXN maxdata; WRTEs never exceed the negotiated minimum.
        features: features advertised in the banner. Only ``shell_v2`` is
            implemented; advertising others makes adb use services we refuse.
    """

    def __init__(
        self,
        host: str,
        port: int,
        banner: Callable[[], Mapping[str, str]],
        shell: Callable[[str], ShellResult],
        on_reboot: Callable[[str], None],
        *,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        features: Iterable[str] = DEFAULT_FEATURES,
        files: PhoneFiles | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.banner = banner
        self.shell = shell
        self.on_reboot = on_reboot
        self.max_payload = max_payload
        self.features = tuple(features)
        self.files = files  # the phone's file tree: `sync:` (adb push), `root:`, `remount:`
        self._lock = threading.Lock()
        self._run: Run | None = None

    @property
    def serial(self) -> str:
        """The serial the adb server gives this device after ``adb connect``."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def connection_count(self) -> int:
        run = self._run
        if run is None:
            return 0
        with run.lock:
            return len(run.connections)

    def __enter__(self) -> AdbDaemon:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        """Listen (again). Idempotent; restartable on the same host:port."""
        with self._lock:
            if self._run is not None:
                return
            # stop() wakes accept() with shutdown(); the timeout is the fallback.
            listener = tcp_listener(self.host, self.port, 16, timeout=0.5)
            self.port = listener.getsockname()[1]
            run = Run(listener)
            self._run = run
            run.spawn(f"adbd-{self.port}-accept", self._accept_loop, run)
        log.debug("adbd %s: listening", self.serial)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection, then join this run's threads.

        Idempotent. Safe to call from a callback (the calling thread is not joined).
        """
        with self._lock:
            run, self._run = self._run, None
        if run is None:
            return
        with run.lock:
            run.stopping.set()
            connections = list(run.connections)
            threads = list(run.threads)
        # On Linux shutdown() wakes a thread blocked in accept(); close() alone does not.
        with contextlib.suppress(OSError):
            run.listener.shutdown(socket.SHUT_RDWR)
        run.listener.close()
        for conn in connections:
            conn.close()
        me = threading.current_thread()
        for thread in threads:
            if thread is not me:
                thread.join(timeout)
                if thread.is_alive():
                    log.warning("adbd %s: %s still busy after stop()", self.serial, thread.name)
        log.debug("adbd %s: stopped", self.serial)

    def disconnect_all(self) -> None:
        """Drop every live connection, as a cable pull would; keep listening."""
        run = self._run
        if run is None:
            return
        with run.lock:
            connections = list(run.connections)
        for conn in connections:
            conn.close()

    # -- internals --------------------------------------------------------------
    def _accept_loop(self, run: Run) -> None:
        while not run.stopping.is_set():
            try:
                sock, addr = run.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(self, run, sock, f"{addr[0]}:{addr[1]}")
            with run.lock:
                run.connections.add(conn)
            if not run.spawn(f"adbd-{self.port}-conn-{addr[1]}", conn.serve):
                conn.close()
