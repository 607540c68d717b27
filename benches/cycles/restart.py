"""How a boot cycle restarts a phone: a hard power cycle through its relays, else `adb reboot`."""

from __future__ import annotations

from benches.cycles.window import CycleWindow
from benches.rack.protocols import PhonePower

RELAY = "relay"
ADB_REBOOT = "adb reboot"


def restart(window: CycleWindow, power: PhonePower | None) -> None:
    """The phone's one hard power cycle (`PowerProtocol.cycle`) on the window's timeline:
    power_off, power_on, then power_button when a key is wired; without a supply relay,
    `adb reboot`."""
    if power is None or not power.has_power:
        window.record.power_method = ADB_REBOOT
        window.event("reboot")
        window.phone.reboot()
        return
    window.record.power_method = RELAY
    power.cycle(window.event)
