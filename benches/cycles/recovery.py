"""Trade Federation's recovery chain, for a phone that stopped answering mid-run.

Each step is tried only when the ones before it did not bring the phone back:

1. wait for it (a phone rebooting on its own, a USB hub re-enumerating);
2. reconnect it (`adb connect` again / the server forgets a dead transport);
3. check that a shell really works and the phone is booted, not only listed;
4. reboot it over ADB;
5. power-cycle it through its relay (and press its power button);
6. only then mark it broken for the session.

Every step is logged and kept in the report, recovered or not. The chain
never judges traffic: a recovered phone's interrupted cycle is run again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from benches.inventory.models import Timings
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.protocols import PhonePower
from benches.redaction.masks import device_label

log = logging.getLogger(__name__)

ONLINE_POLL_S = 0.25
RECONNECT_WAIT_S = 5.0


@dataclass(frozen=True)
class RecoveryStep:
    name: str
    recovered: bool
    detail: str
    seconds: float

    def line(self) -> str:
        mark = "ok" if self.recovered else "no"
        return f"[{mark}] {self.name}: {self.detail} ({self.seconds:.1f} s)"


@dataclass
class RecoveryReport:
    serial: str
    reason: str  # what went wrong in the first place
    steps: list[RecoveryStep] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        return bool(self.steps) and self.steps[-1].recovered

    def text(self) -> str:
        outcome = "recovered" if self.recovered else "marked broken for the session"
        head = f"recovery of {device_label(self.serial)} after: {self.reason}"
        return "\n".join([head, *(step.line() for step in self.steps), outcome]) + "\n"


StepAction = Callable[[], tuple[bool, str]]


class Recovery:
    def __init__(self, phone: Phone, power: PhonePower | None, timings: Timings) -> None:
        self.phone = phone
        self.power = power
        self.timings = timings

    def recover(self, reason: str) -> RecoveryReport:
        report = RecoveryReport(self.phone.serial, reason)
        log.warning("%s: recovering after: %s", self.phone.label, reason)
        steps: list[tuple[str, StepAction]] = [
            ("wait for the phone", self._wait),
            ("reconnect", self._reconnect),
            ("check the shell", self._check_shell),
            ("reboot over adb", self._reboot),
            ("power-cycle through the relay", self._power_cycle),
        ]
        for name, action in steps:
            started = time.monotonic()
            try:
                recovered, detail = action()
            except PhoneError as error:
                recovered, detail = False, str(error)
            step = RecoveryStep(name, recovered, detail, time.monotonic() - started)
            report.steps.append(step)
            log.warning("%s: recovery %s", self.phone.label, step.line())
            if recovered:
                return report
        log.error("%s: marked broken for the session", self.phone.label)
        return report

    # Steps 1-3 only look; a step "recovers" when the phone passes the full check.

    def _wait(self) -> tuple[bool, str]:
        waited = self.timings.recovery_wait_s
        if not self._online_within(waited):
            return False, f"still {self.phone.state()} after {waited:.0f} s"
        return self._healthy()

    def _reconnect(self) -> tuple[bool, str]:
        if not self.phone.device.adb_connect:
            return False, "a USB phone: nothing to reconnect (the hub re-enumerates it)"
        self.phone.try_reconnect()
        if not self._online_within(RECONNECT_WAIT_S):
            return False, f"still {self.phone.state()} after adb connect"
        return self._healthy()

    def _check_shell(self) -> tuple[bool, str]:
        if self.phone.state() != "device":
            return False, f"no shell to check: adb says {self.phone.state()}"
        return self._healthy()

    # Steps 4-5 act, then wait for a full boot.

    def _reboot(self) -> tuple[bool, str]:
        if self.phone.state() != "device":
            return False, f"adb cannot reach it to reboot it ({self.phone.state()})"
        self.phone.reboot()
        self.phone.wait_for_boot(self.timings.boot_timeout_s, lambda _event: None)
        return self._healthy()

    def _power_cycle(self) -> tuple[bool, str]:
        power = self.power
        if power is None or not (power.has_power or power.has_button):
            return False, "no relay for this phone in devices.yaml"
        if power.has_power:
            power.cycle()  # the boot cycle's own power cycle: it presses the key when wired
        else:
            power.press()  # a key, but no supply relay
        self.phone.wait_until_booted(self.timings.boot_timeout_s)
        return self._healthy()

    def _online_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            if self.phone.state() == "device":
                return True
            if time.monotonic() >= deadline:
                return False
            self.phone.try_reconnect()
            time.sleep(ONLINE_POLL_S)

    def _healthy(self) -> tuple[bool, str]:
        """Listed is not enough: a shell must answer and the phone must be booted."""
        token = f"bench-{uuid.uuid4().hex[:8]}"
        try:
            echoed = self.phone.shell(["echo", token], timeout=5.0)
            booted = self.phone.getprop("sys.boot_completed") == "1"
        except PhoneError as error:
            return False, f"listed, but the shell does not answer: {error}"
        if token not in echoed:
            return False, f"listed, but the shell answered {echoed.strip()[:40]!r}"
        if not booted:
            return False, "the shell answers, but sys.boot_completed is not 1"
        return True, "the shell answers and the phone is booted"
