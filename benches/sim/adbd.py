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
from dataclasses import dataclass

from benches.sim import adb_protocol as proto
from benches.sim.adb_protocol import AdbMessage, AdbProtocolError

log = logging.getLogger(__name__)

DEFAULT_MAX_PAYLOAD = 256 * 1024
DEFAULT_FEATURES = ("shell_v2",)
INTERACTIVE_REFUSAL = b"interactive shell not supported by this virtual device\n"


@dataclass(frozen=True)
class ShellResult:
    output: bytes
    exit_code: int = 0


class _PeerClosed(Exception):
    """The stream or its connection went away while we were writing."""


class _Stream:
    def __init__(self, conn: _Connection, local_id: int, remote_id: int) -> None:
        self.conn = conn
        self.local_id = local_id
        self.remote_id = remote_id
        self._cond = threading.Condition()
        self._okays = 0
        self.closed = False

    def on_okay(self) -> None:
        with self._cond:
            self._okays += 1
            self._cond.notify_all()

    def on_close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def write(self, data: bytes) -> None:
        """Send WRTEs of at most maxdata bytes, each acknowledged by the peer's OKAY.

        protocol.txt: after a WRTE the sender must wait for OKAY before the next.
        """
        view = memoryview(data)
        step = self.conn.max_payload
        for start in range(0, len(view), step):
            with self._cond:
                if self.closed:
                    raise _PeerClosed
                acked = self._okays
            chunk = bytes(view[start : start + step])
            self.conn.send(AdbMessage(proto.A_WRTE, self.local_id, self.remote_id, chunk))
            with self._cond:
                while self._okays == acked and not self.closed:
                    self._cond.wait()
                if self._okays == acked:
                    raise _PeerClosed

    def close(self) -> None:
        """Our side is done: CLSE(local, remote), unless the peer closed first."""
        with self._cond:
            already = self.closed
            self.closed = True
            self._cond.notify_all()
        self.conn.forget(self.local_id)
        if not already:
            with contextlib.suppress(OSError):
                self.conn.send(AdbMessage(proto.A_CLSE, self.local_id, self.remote_id))


class _Run:
    """Everything one start()..stop() cycle owns, so stop() joins exactly its own threads."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.connections: set[_Connection] = set()

    def spawn(self, name: str, target: Callable[..., None], *args: object) -> bool:
        """Start a thread unless this run is stopping (then stop() would miss it)."""
        with self.lock:
            if self.stopping.is_set():
                return False
            self.threads = [t for t in self.threads if t.is_alive()]
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            self.threads.append(thread)
            thread.start()
            return True


class _Connection:
    """One TCP connection from an adb server: a reader thread plus one thread per stream."""

    def __init__(self, daemon: AdbDaemon, run: _Run, sock: socket.socket, peer: str) -> None:
        self.daemon = daemon
        self.run = run
        self.sock = sock
        self.peer = peer
        self.max_payload = daemon.max_payload
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._streams: dict[int, _Stream] = {}
        self._next_id = 1
        self._online = False
        self._closed = False

    # -- plumbing -------------------------------------------------------------
    def send(self, message: AdbMessage) -> None:
        data = proto.encode(message)
        with self._send_lock:
            self.sock.sendall(data)

    def forget(self, local_id: int) -> None:
        with self._lock:
            self._streams.pop(local_id, None)

    def _drop_streams(self) -> None:
        with self._lock:
            streams = list(self._streams.values())
            self._streams.clear()
        for stream in streams:
            stream.on_close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._drop_streams()
        # shutdown() wakes the reader blocked in recv(); close() alone would not.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self.run.lock:
            self.run.connections.discard(self)

    def _recv_exact(self, size: int) -> bytes | None:
        chunks = []
        while size:
            chunk = self.sock.recv(min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    # -- reader thread ----------------------------------------------------------
    def serve(self) -> None:
        serial = self.daemon.serial
        try:
            while True:
                raw = self._recv_exact(proto.HEADER_SIZE)
                if raw is None:
                    break
                header = proto.parse_header(raw, self.daemon.max_payload)
                data = self._recv_exact(header.data_length) if header.data_length else b""
                if data is None:
                    break
                self._dispatch(AdbMessage(header.command, header.arg0, header.arg1, data))
        except AdbProtocolError as exc:
            log.warning("adbd %s: dropping %s: %s", serial, self.peer, exc)
        except OSError as exc:
            if not self._closed:
                log.info("adbd %s: connection from %s lost: %s", serial, self.peer, exc)
        except Exception:
            log.exception("adbd %s: internal error serving %s", serial, self.peer)
        finally:
            self.close()

    def _dispatch(self, msg: AdbMessage) -> None:
        if msg.command == proto.A_CNXN:
            self._on_connect(msg)
        elif not self._online:
            raise AdbProtocolError(f"{msg.name} before CNXN")
        elif msg.command == proto.A_OPEN:
            self._on_open(msg)
        elif msg.command in (proto.A_OKAY, proto.A_WRTE, proto.A_CLSE):
            with self._lock:
                stream = self._streams.get(msg.arg1)
            if stream is None or (msg.command != proto.A_CLSE and msg.arg0 != stream.remote_id):
                return  # late packet for a stream already gone; adbd ignores these too
            if msg.command == proto.A_OKAY:
                stream.on_okay()
            elif msg.command == proto.A_WRTE:
                # Input (shell v2 stdin, close-stdin, window size) is acknowledged, not used.
                self.send(AdbMessage(proto.A_OKAY, stream.local_id, stream.remote_id))
            else:
                self.forget(stream.local_id)
                stream.on_close()
        # AUTH/STLS/SYNC from a host are unexpected when we never asked: ignored.

    def _on_connect(self, msg: AdbMessage) -> None:
        if msg.arg0 < proto.A_VERSION_MIN:
            raise AdbProtocolError(f"CNXN version 0x{msg.arg0:08x} too old")
        if msg.arg1 == 0:
            raise AdbProtocolError("CNXN with zero maxdata")
        try:
            banner = proto.encode_banner("device", self.daemon.banner(), self.daemon.features)
        except ValueError as exc:
            raise AdbProtocolError(f"cannot build banner: {exc}") from exc
        # A CNXN on a live connection restarts it: the peer has forgotten all streams.
        self._drop_streams()
        self.max_payload = min(msg.arg1, self.daemon.max_payload)
        self.send(AdbMessage(proto.A_CNXN, proto.A_VERSION, self.daemon.max_payload, banner))
        self._online = True

    def _on_open(self, msg: AdbMessage) -> None:
        remote_id = msg.arg0
        if remote_id == 0:
            raise AdbProtocolError("OPEN with local-id 0")
        service = msg.data.rstrip(b"\0").decode("utf-8", errors="replace")
        handler = self.daemon._service_handler(service)
        if handler is None:
            log.info("adbd %s: refusing unknown service %r", self.daemon.serial, service)
            self.send(AdbMessage(proto.A_CLSE, 0, remote_id))
            return
        with self._lock:
            local_id = self._next_id
            self._next_id = self._next_id % 0xFFFFFFFF + 1
            stream = _Stream(self, local_id, remote_id)
            self._streams[local_id] = stream
        self.send(AdbMessage(proto.A_OKAY, local_id, remote_id))
        name = f"adbd-{self.daemon.port}-stream-{local_id}"
        if not self.run.spawn(name, self._run_stream, stream, handler):
            stream.close()

    def _run_stream(self, stream: _Stream, handler: Callable[[_Stream], None]) -> None:
        try:
            handler(stream)
        except (_PeerClosed, OSError):
            pass
        except Exception:
            log.exception("adbd %s: service failed", self.daemon.serial)
        finally:
            stream.close()


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
    ) -> None:
        self.host = host
        self.port = port
        self.banner = banner
        self.shell = shell
        self.on_reboot = on_reboot
        self.max_payload = max_payload
        self.features = tuple(features)
        self._lock = threading.Lock()
        self._run: _Run | None = None

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
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((self.host, self.port))
                listener.listen(16)
                # stop() wakes accept() with shutdown(); the timeout is the fallback.
                listener.settimeout(0.5)
            except OSError:
                listener.close()
                raise
            self.port = listener.getsockname()[1]
            run = _Run(listener)
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
    def _accept_loop(self, run: _Run) -> None:
        while not run.stopping.is_set():
            try:
                sock, addr = run.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, run, sock, f"{addr[0]}:{addr[1]}")
            with run.lock:
                run.connections.add(conn)
            if not run.spawn(f"adbd-{self.port}-conn-{addr[1]}", conn.serve):
                conn.close()

    def _service_handler(self, service: str) -> Callable[[_Stream], None] | None:
        name, _, arg = service.partition(":")
        kind, *options = name.split(",")
        if kind == "shell":
            v2 = "v2" in options
            return lambda stream: self._serve_shell(stream, arg, v2=v2)
        if kind == "exec" and not options:
            return lambda stream: self._serve_shell(stream, arg, v2=False)
        if kind == "reboot" and not options:
            return lambda stream: self._serve_reboot(stream, arg)
        return None

    def _serve_reboot(self, stream: _Stream, arg: str) -> None:
        # Only the connections live now go down: on_reboot may already have
        # restarted the daemon, and its new connections must survive.
        run = stream.conn.run
        with run.lock:
            connections = list(run.connections)
        self.on_reboot(arg)
        for conn in connections:
            conn.close()

    def _serve_shell(self, stream: _Stream, command: str, *, v2: bool) -> None:
        if not command.strip():
            self._send_shell_output(stream, INTERACTIVE_REFUSAL, 1, v2=v2, to_stderr=True)
            return
        result = self.shell(command)
        self._send_shell_output(stream, result.output, result.exit_code, v2=v2)

    @staticmethod
    def _send_shell_output(
        stream: _Stream, output: bytes, exit_code: int, *, v2: bool, to_stderr: bool = False
    ) -> None:
        if not v2:
            stream.write(output)
            return
        packet_id = proto.SHELL_STDERR if to_stderr else proto.SHELL_STDOUT
        # One shell packet per WRTE: the 5-byte packet header counts against maxdata.
        step = stream.conn.max_payload - proto.SHELL_HEADER_SIZE
        for start in range(0, len(output), step):
            stream.write(proto.encode_shell_packet(packet_id, output[start : start + step]))
        stream.write(proto.encode_shell_packet(proto.SHELL_EXIT, bytes([exit_code & 0xFF])))
