"""What a virtual phone prints on its UART while it boots, handed to whoever listens.

Lines go to the listener (`VirtualPhone.console`) from a thread of their own,
so a slow or stuck listener never stalls the phone. Kernel lines carry the
kernel's own timestamp, seconds since this boot began: `[    5.832110] ...`.
A power cut silences the phone at once: lines not yet handed over are dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Listener = Callable[[str], None]


class ConsoleFeed:
    def __init__(self, name: str, listener: Callable[[], Listener | None]) -> None:
        self.name = name
        self._listener = listener  # read at each line: the bench may attach it any time
        self._lines: queue.Queue[str] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._boot_started = time.monotonic()

    def boot_started(self) -> None:
        self._boot_started = time.monotonic()

    def kernel(self, text: str) -> None:
        self.say(f"[{time.monotonic() - self._boot_started:12.6f}] {text}")

    def say(self, line: str) -> None:
        if self._listener() is None:
            return
        self._lines.put(line)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._hand_over, name=f"console-{self.name}", daemon=True
                )
                self._thread.start()

    def silence(self) -> None:
        """Power is gone: nothing more comes out of the UART."""
        while True:
            try:
                self._lines.get_nowait()
            except queue.Empty:
                return

    def _hand_over(self) -> None:
        while True:
            line = self._lines.get()
            listener = self._listener()
            if listener is None:
                continue
            try:
                listener(line)
            except Exception:  # the listener's trouble is the bench's, never the phone's
                log.exception("%s: console listener failed", self.name)
