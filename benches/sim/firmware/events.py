"""The firmware's reactions to a phone's events, run in order on one thread of the phone's own.

A shell command that unlocks the phone must answer at once, as on a phone,
while the apps react in the background. Every event carries the power
generation it happened in: after a power cut, older events are dropped, and a
behaviour that is still running is the last one to run.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Fire = Callable[[str, Callable[[], bool]], None]  # (event, alive) -> None


class FirmwareEvents:
    def __init__(self, name: str, fire: Fire, generation: Callable[[], int]) -> None:
        self.name = name
        self._fire = fire
        self._generation = generation
        self._queue: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self.fired: list[str] = []  # every event whose behaviours ran, in order

    def post(self, event: str, generation: int) -> None:
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"firmware-{self.name}", daemon=True
                )
                self._thread.start()
        self._queue.put((event, generation))

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every posted event has been handled (or dropped); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        with self._idle:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _alive(self, generation: int) -> Callable[[], bool]:
        return lambda: generation == self._generation()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            event, generation = item
            try:
                if generation == self._generation():
                    self.fired.append(event)
                    self._fire(event, self._alive(generation))
            except Exception:  # a broken behaviour must not silence the phone for good
                log.exception("%s: firmware event %s failed", self.name, event)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
