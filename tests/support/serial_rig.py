"""Helpers for the serial tests: loopback ports in 127.0.71.0/24, and waiting on emulators."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

WAIT_S = 10.0  # how long a test waits for something that must happen (never a pass/fail threshold)


def free_url(scheme: str, host: str) -> str:
    """A URL on `host` (in 127.0.71.0/24) at a TCP port nothing listens on now."""
    assert host.startswith("127.0.71.")
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    assert port > 20000
    return f"{scheme}://{host}:{port}"


def port_for(kind: str, tmp_path: Path, host: str, name: str = "ttyRELAY0") -> str:
    """A port of each kind the bench accepts: a pty's path, socket:// or rfc2217://."""
    if kind == "pty":
        return str(tmp_path / "dev" / name)
    return free_url(kind, host)


class Events:
    """Collects on_change(channel, closed) calls from an emulator's thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[int, bool]] = queue.Queue()

    def __call__(self, channel: int, closed: bool) -> None:
        self._queue.put((channel, closed))

    def take(self, count: int) -> list[tuple[int, bool]]:
        return [self._queue.get(timeout=WAIT_S) for _ in range(count)]

    def pending(self) -> list[tuple[int, bool]]:
        taken = []
        while not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken


class ByteSink:
    """Collects what a served port receives."""

    def __init__(self) -> None:
        self.data = b""
        self._changed = threading.Condition()

    def __call__(self, data: bytes) -> None:
        with self._changed:
            self.data += data
            self._changed.notify_all()

    def wait_for(self, count: int) -> bytes:
        with self._changed:
            self._changed.wait_for(lambda: len(self.data) >= count, timeout=WAIT_S)
            return self.data


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
