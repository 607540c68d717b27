"""How a boot cycle restarts a phone: a hard power cycle through its relays, else `adb reboot`."""

from __future__ import annotations

import time
from typing import Protocol

from benches.cycles.window import CycleWindow
from benches.inventory.models import Timings

RELAY = "relay"
ADB_REBOOT = "adb reboot"


class PowerRelays(Protocol):
    """What a cycle needs of `benches.rack.power.PowerSwitch`."""

    @property
    def has_power(self) -> bool: ...

    @property
    def has_button(self) -> bool: ...

    def cut(self) -> None: ...

    def restore(self) -> None: ...

    def press(self, seconds: float | None = None) -> None: ...


def restart(window: CycleWindow, power: PowerRelays | None, timings: Timings) -> None:
    """Cut, wait, restore (and press the power button when one is wired); or `adb reboot`."""
    if power is None or not power.has_power:
        window.record.power_method = ADB_REBOOT
        window.event("reboot")
        window.phone.reboot()
        return
    window.record.power_method = RELAY
    window.event("power_off")
    try:
        power.cut()
        time.sleep(timings.power_off_s)
    finally:
        # Also after a failed cut or an interrupt: a phone is never left unpowered.
        window.event("power_on")
        power.restore()
    if power.has_button:  # a phone that waits for its key after power returns
        window.event("power_button")
        power.press()
