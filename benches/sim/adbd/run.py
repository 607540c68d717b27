"""What one start()..stop() of the virtual adbd owns, so stop() joins exactly its own threads."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Protocol


class Closable(Protocol):
    def close(self) -> None: ...


class Run:
    """The listener, the threads and the live connections of one start()..stop() cycle."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.connections: set[Closable] = set()

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
