"""One cycle's capture window: what is recorded around it, the timeline and a canary lookup
at each end.

Everything recorded around a window has one shape (`RecorderProtocol`, Mobly's
BaseService): the phone's UART console when devices.yaml wires one, its
logcat, and the capture. They start in that order and stop in the reverse one,
so the capture covers the whole window; a recorder that cannot start stops the
ones already started. Their files sit side by side, named by
`benches.capture.evidence.evidence_path`, and the record names them: `pcap`,
`console`, `logcat`, with the capture's `health`.

A console that cannot be opened is a bench fault (BenchFault), never a
verdict; a capture that cannot start raises CaptureStartError as it is.

Events that stand for something the bench does (`reboot`, `screen_off`,
`unlock`, ...) are stamped just before it is done, so traffic it causes can
never come before its event; events the bench observes (`offline`,
`boot_completed`, `network_attached`) are stamped when they are seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from benches.capture.evidence import evidence_path
from benches.capture.gateway import Gateway
from benches.capture.interception.session import WindowStart
from benches.cycles.record import CycleInterrupted, CycleRecord, Event, new_canary
from benches.rack.adb.logcat import LogcatRecorder
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.console import ConsoleError, ConsoleRecorder
from benches.rack.health import BenchFault
from benches.rack.protocols import RecorderProtocol


def window_name(kind: str, index: int, attempt: int = 1) -> str:
    """`boot-2`, or `boot-2-attempt2` when the cycle runs again after a recovery."""
    return f"{kind}-{index}" if attempt == 1 else f"{kind}-{index}-attempt{attempt}"


class CycleWindow:
    def __init__(
        self, phone: Phone, gateway: Gateway, kind: str, index: int, attempt: int = 1
    ) -> None:
        self.phone = phone
        window = window_name(kind, index, attempt)
        self.capture = gateway.capture(phone.device, window)
        self.console: ConsoleRecorder | None = None
        if phone.device.console is not None:
            self.console = ConsoleRecorder(
                phone.device.console,
                evidence_path(gateway.pcap_dir, phone.serial, window, "console.txt"),
                owner=f"console of {phone.label}",
            )
        self.logcat = LogcatRecorder(
            phone, evidence_path(gateway.pcap_dir, phone.serial, window, "logcat.txt")
        )
        self.record = CycleRecord(phone.serial, kind, index, self.capture.pcap, attempt=attempt)
        self.gateway = gateway
        self._intercepted = _intercepted_address(phone, gateway)
        self._interception_start: WindowStart | None = None
        self._started: list[RecorderProtocol] = []
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
        interception = self.gateway.interception
        address = self._intercepted
        refusal = interception.refusal(address) if interception and address else None
        if refusal is not None:
            # `interception: required` and the phone does not trust the bench's CA.
            raise BenchFault(f"bench fault: {refusal}")
        self._start(recorder for recorder in (self.console, self.logcat) if recorder)
        self._opened = time.monotonic()  # the window opens with its capture
        if self.gateway.interception is not None and self._intercepted is not None:
            self._interception_start = self.gateway.interception.open_window(self._intercepted)
        self._start([self.capture])
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

    def _start(self, recorders: Iterable[RecorderProtocol]) -> None:
        for recorder in recorders:
            try:
                recorder.start()
            except ConsoleError as error:
                self._stop()
                # The bench's own cabling, not the phone: never a verdict.
                raise BenchFault(f"bench fault: {error}") from None
            except BaseException:
                self._stop()
                raise
            self._started.append(recorder)

    def _stop(self) -> None:
        """Stop what started, the last started first (none of them raises)."""
        while self._started:
            recorder = self._started.pop()
            recorder.stop()
            if recorder is self.capture:
                self.record.health = self.capture.health
                self.event("capture_stopped")

    def _interrupted(self, error: BaseException) -> None:
        """A phone that failed mid-window: keep what was captured with the error."""
        if isinstance(error, PhoneError) and not isinstance(error, CycleInterrupted):
            self.event("interrupted")
            raise CycleInterrupted(str(error), self.record) from error

    def _close(self) -> None:
        self._stop()
        self.record.console = _excerpt(self.console)
        self.record.logcat = _excerpt(self.logcat)
        self._cut_interception()

    def _cut_interception(self) -> None:
        """What the interceptor saw of this phone in the window, beside the pcap."""
        interception, start = self.gateway.interception, self._interception_start
        if interception is None or start is None or self._intercepted is None:
            return
        try:
            self.record.interception = interception.cut(
                self._intercepted, start, self.record.pcap, self.gateway.pcap_dir
            )
        except OSError as error:
            # Without its cut the window's TLS is unread: never a verdict.
            raise BenchFault(
                f"bench fault: the interceptor's spool cannot be cut: {error}"
            ) from None


def _intercepted_address(phone: Phone, gateway: Gateway) -> str | None:
    """The phone's address the interceptor knows it by, if it intercepts this phone."""
    addresses = phone.device.network.addresses
    if gateway.interception is None or not addresses:
        return None
    address: str = addresses[0]
    return address if gateway.interception.intercepts(address) else None


def _excerpt(recorder: RecorderProtocol | None) -> Path | None:
    """The one file a console or logcat recorder leaves, if it left one."""
    files = recorder.excerpts() if recorder is not None else []
    return files[0] if files else None
