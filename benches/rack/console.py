"""Recording a phone's UART console for one cycle, with timestamps.

`ConsoleRecorder` reads the console port in a thread and writes one line of the
file per console line:

    # console /dev/ttyUSB3 at 115200 baud, started 2024-05-01T12:00:00.000+00:00 (1714564800.000)
       0.412 2024-05-01T12:00:00.412+00:00 [    0.000000] Booting Linux on physical CPU 0x0

The first column is seconds since the recording started, the second the
wall-clock time (UTC), so the console lines sit on the cycle's timeline. A
line's time is when its first byte arrived. Bytes are decoded as UTF-8 with
errors replaced; a line still open at `stop()` is kept. Consoles may print
identifiers, so the file is evidence: it is written 0600, like the pcaps, and
masked at `stop()` (a real UART prints the serial: androidboot.serialno=...).

It is one of the recorders around a cycle's window (`RecorderProtocol`): a
console that cannot be opened raises ConsoleError at `start()`; `stop()` never
raises; `excerpts()` is the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import serial

from benches.inventory.models import SerialConsole
from benches.rack.ports import PortError, open_port, reason
from benches.rack.protocols import RecorderProtocol
from benches.redaction.private_files import open_private
from benches.redaction.rack_masker import scrub_file

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.1
# After stop(), what the port already holds is still read, for at most this long
# (a console that never stops talking must not hold the cycle up).
DRAIN_LIMIT_S = 2.0


class ConsoleError(PortError):
    """A console could not be recorded; the message is one line."""


def wall_clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


class LineSplitter:
    """Bytes in, timestamped text lines out; remembers when each line began."""

    def __init__(self) -> None:
        self._pending = b""
        self._began: float | None = None

    def feed(self, data: bytes, now: float) -> list[tuple[float, str]]:
        lines: list[tuple[float, str]] = []
        while data:
            if self._began is None:
                self._began = now
            head, newline, data = data.partition(b"\n")
            self._pending += head
            if not newline:
                break
            lines.append(self._take())
        return lines

    def flush(self) -> list[tuple[float, str]]:
        return [self._take()] if self._pending else []

    def _take(self) -> tuple[float, str]:
        began = self._began if self._began is not None else 0.0
        text = self._pending.removesuffix(b"\r").decode("utf-8", "replace")
        self._pending, self._began = b"", None
        return began, text


class ConsoleRecorder(RecorderProtocol):
    """Records `console` into `path` between `start()` and `stop()`."""

    def __init__(self, console: SerialConsole, path: Path, owner: str = "console") -> None:
        self.console = console
        self.path = Path(path)
        self.owner = owner
        self.error: str | None = None  # why recording ended early, if it did
        self.lines = 0
        self.started_at: float | None = None  # wall clock (epoch seconds) of elapsed 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise ConsoleError(f"{self.owner}: already recording to {self.path}")
        port = open_port(
            self.console.port,
            self.console.baud,
            READ_TIMEOUT_S,
            owner=self.owner,
            error=ConsoleError,
        )
        try:
            out = _open_private(self.path)
        except OSError as exc:
            port.close()
            raise ConsoleError(f"{self.owner}: cannot write {self.path}: {reason(exc)}") from None
        self.started_at, started = time.time(), time.monotonic()
        out.write(
            f"# console {self.console.port} at {self.console.baud} baud, started "
            f"{wall_clock(self.started_at)} ({self.started_at:.3f})\n"
        )
        out.flush()
        self._thread = threading.Thread(
            target=self._record, args=(port, out, started), name=f"console {self.path.name}"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        """Read what the port still holds, write the last partial line, close, mask the file."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join()
        try:
            scrub_file(self.path)
        except OSError as exc:
            log.error("%s: cannot mask %s: %s", self.owner, self.path, reason(exc))

    def excerpts(self) -> list[Path]:
        """The recording, once `stop()` returned (none when it never started)."""
        return [self.path] if self._thread is not None else []

    def _record(self, port: serial.SerialBase, out: TextIO, started: float) -> None:
        splitter = LineSplitter()
        assert self.started_at is not None
        start_wall = self.started_at

        def write(lines: list[tuple[float, str]]) -> None:
            for began, text in lines:
                elapsed = began - started
                out.write(f"{elapsed:10.3f} {wall_clock(start_wall + elapsed)} {text}\n")
                self.lines += 1
            if lines:
                out.flush()

        drain_until: float | None = None
        try:
            while True:
                if drain_until is None and self._stop.is_set():
                    drain_until = time.monotonic() + DRAIN_LIMIT_S
                data = port.read(max(1, port.in_waiting))
                write(splitter.feed(data, time.monotonic()))
                # After stop(): read until the port is quiet, then finish.
                if drain_until is not None and (not data or time.monotonic() > drain_until):
                    break
        except (serial.SerialException, OSError) as exc:
            self.error = f"{self.owner}: reading {self.console.port} failed: {reason(exc)}"
            write(splitter.flush())
            out.write(f"# recording ended early: {self.error}\n")
        else:
            write(splitter.flush())
        finally:
            out.close()
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()


def _open_private(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.fdopen(open_private(path), "w", encoding="utf-8", errors="replace")
