"""One adb server's TCP connection to the virtual adbd, and the streams it opens.

A reader thread per connection answers CNXN and dispatches OPEN, OKAY, WRTE and
CLSE; each opened stream runs its service on a thread of its own.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable

from benches.sim.adbd import wire as proto
from benches.sim.adbd.protocols import Daemon
from benches.sim.adbd.run import Run
from benches.sim.adbd.services import service_handler
from benches.sim.adbd.wire import AdbMessage, AdbProtocolError

log = logging.getLogger(__name__)


INBOX_LIMIT = 1024 * 1024  # unread input a stream holds before it stops acknowledging


class _PeerClosed(Exception):
    """The stream or its connection went away while we were writing."""


class Stream:
    def __init__(self, conn: Connection, local_id: int, remote_id: int) -> None:
        self.conn = conn
        self.local_id = local_id
        self.remote_id = remote_id
        self._cond = threading.Condition()
        self._okays = 0
        self.closed = False
        # What the peer wrote, for a service that reads (sync); its OKAY waits while full.
        self._inbox = bytearray()
        self._owed_okay = False

    @property
    def max_payload(self) -> int:
        return self.conn.max_payload

    @property
    def run(self) -> Run:
        return self.conn.run

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

    def on_data(self, data: bytes) -> bool:
        """Keep the peer's WRTE for read(); True when it may be acknowledged at once."""
        with self._cond:
            self._inbox += data
            self._cond.notify_all()
            if len(self._inbox) > INBOX_LIMIT:
                self._owed_okay = True
                return False
            return True

    def read(self, size: int) -> bytes | None:
        """Exactly `size` bytes the peer wrote, or None when the stream closed first."""
        with self._cond:
            while len(self._inbox) < size and not self.closed:
                self._cond.wait()
            if len(self._inbox) < size:
                return None
            data = bytes(self._inbox[:size])
            del self._inbox[:size]
            owed = self._owed_okay and len(self._inbox) <= INBOX_LIMIT
            if owed:
                self._owed_okay = False
        if owed:
            self.conn.send(AdbMessage(proto.A_OKAY, self.local_id, self.remote_id))
        return data

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


class Connection:
    """One TCP connection from an adb server: a reader thread plus one thread per stream."""

    def __init__(self, daemon: Daemon, run: Run, sock: socket.socket, peer: str) -> None:
        self.daemon = daemon
        self.run = run
        self.sock = sock
        self.peer = peer
        self.max_payload = daemon.max_payload
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._streams: dict[int, Stream] = {}
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
                # Kept for a service that reads (sync); shell input is acknowledged, unused.
                if stream.on_data(msg.data):
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
        handler = service_handler(self.daemon, service)
        if handler is None:
            log.info("adbd %s: refusing unknown service %r", self.daemon.serial, service)
            self.send(AdbMessage(proto.A_CLSE, 0, remote_id))
            return
        with self._lock:
            local_id = self._next_id
            self._next_id = self._next_id % 0xFFFFFFFF + 1
            stream = Stream(self, local_id, remote_id)
            self._streams[local_id] = stream
        self.send(AdbMessage(proto.A_OKAY, local_id, remote_id))
        name = f"adbd-{self.daemon.port}-stream-{local_id}"
        if not self.run.spawn(name, self._run_stream, stream, handler):
            stream.close()

    def _run_stream(self, stream: Stream, handler: Callable[[Stream], None]) -> None:
        try:
            handler(stream)
        except (_PeerClosed, OSError):
            pass
        except Exception:
            log.exception("adbd %s: service failed", self.daemon.serial)
        finally:
            stream.close()
