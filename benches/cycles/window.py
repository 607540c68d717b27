"""One cycle's capture window: the capture, the timeline and a canary lookup at each end.

Events that stand for something the bench does (`reboot`, `screen_off`,
`unlock`, ...) are stamped just before it is done, so traffic it causes can
never come before its event; events the bench observes (`offline`,
`boot_completed`, `network_attached`) are stamped when they are seen.
"""

from __future__ import annotations

import time
from types import TracebackType

from benches.capture.gateway import Gateway
from benches.cycles.record import CycleInterrupted, CycleRecord, Event, new_canary
from benches.rack.adb.phone import Phone, PhoneError


class CycleWindow:
    def __init__(
        self, phone: Phone, gateway: Gateway, kind: str, index: int, attempt: int = 1
    ) -> None:
        self.phone = phone
        window = f"{kind}-{index}" if attempt == 1 else f"{kind}-{index}-attempt{attempt}"
        self.capture = gateway.capture(phone.device, window)
        self.record = CycleRecord(phone.serial, kind, index, self.capture.pcap, attempt=attempt)
        self._opened = time.monotonic()

    def event(self, name: str) -> None:
        at = round(time.monotonic() - self._opened, 3)
        self.record.timeline.append(Event(name, at, time.time()))

    def canary(self) -> None:
        name = new_canary()
        self.record.canaries.append(name)
        self.event("canary")
        self.phone.lookup(name)

    def settle(self, seconds: float) -> None:
        """Give the phone's apps their time to act, inside the window."""
        time.sleep(seconds)
        self.event("settle_done")

    def __enter__(self) -> CycleWindow:
        self._opened = time.monotonic()
        self.capture.start()
        self.event("capture_started")
        try:
            self.canary()
        except BaseException as error:
            self._close()
            self._interrupted(error)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if error is None:
                self.canary()
        except BaseException as late:
            self._close()
            self._interrupted(late)
            raise
        self._close()
        if error is not None:
            self._interrupted(error)

    def _interrupted(self, error: BaseException) -> None:
        """A phone that failed mid-window: keep what was captured with the error."""
        if isinstance(error, PhoneError) and not isinstance(error, CycleInterrupted):
            self.event("interrupted")
            raise CycleInterrupted(str(error), self.record) from error

    def _close(self) -> None:
        self.record.health = self.capture.stop()
        self.event("capture_stopped")
