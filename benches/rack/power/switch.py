"""One phone's power, through the relays devices.yaml wires to it.

`Device.power` is the channel in series with the phone's supply (a battery
eliminator or its USB power), wired through the relay's normally-open contact:
closed means powered. `Device.power_button` is the channel wired across its
power key: closed means held down.

`PowerSwitch.cycle()` is the bench's one hard power cycle: the boot cycle calls
it with the cycle's timeline, the recovery chain without one.
"""

from __future__ import annotations

import time

from benches.inventory.models import Device, RelayLink, Timings
from benches.rack.power.bank import RelayBank
from benches.rack.power.errors import PowerError
from benches.rack.protocols import ButtonProtocol, EventSink, PowerProtocol, no_events
from benches.redaction.masks import device_label


class PowerSwitch(PowerProtocol, ButtonProtocol):
    """On, off, cycle and press for one phone; `has_power`/`has_button` say what is wired."""

    def __init__(self, bank: RelayBank, device: Device, timings: Timings) -> None:
        self.bank = bank
        self.device = device
        self.timings = timings

    @property
    def has_power(self) -> bool:
        return self.device.power is not None

    @property
    def has_button(self) -> bool:
        return self.device.power_button is not None

    def off(self) -> None:
        """Cut the phone's supply."""
        self.bank.switch(self._power(), False, f"{device_label(self.device.serial)} power cut")

    def on(self) -> None:
        """Restore the phone's supply."""
        self.bank.switch(self._power(), True, f"{device_label(self.device.serial)} power restored")

    def cycle(self, event: EventSink = no_events) -> None:
        """Cut the power, keep it off for `timings.power_off_s`, restore it, then press the
        power key when one is wired (a phone that waits for its key after power returns).

        `event` hears `power_off`, `power_on` and `power_button`, each just before it is
        done, so traffic it causes never comes before its event on a cycle's timeline.
        """
        self._power()  # no supply relay: refuse before anything is switched
        event("power_off")
        try:
            self.off()
            time.sleep(self.timings.power_off_s)
        finally:
            # Also after a failed cut (an ASCII PDU may have switched without answering)
            # or an interrupt: a phone is never left unpowered by accident.
            event("power_on")
            self.on()
        if self.has_button:
            event("power_button")
            self.press()

    def press(self, seconds: float | None = None) -> None:
        """Hold the power button for `seconds` (default `timings.power_button_s`), then let go."""
        link = self._button()
        held = self.timings.power_button_s if seconds is None else seconds
        try:
            self.bank.switch(
                link, True, f"{device_label(self.device.serial)} power button held for {held:g} s"
            )
            time.sleep(held)
        finally:
            self.bank.switch(
                link, False, f"{device_label(self.device.serial)} power button released"
            )

    def _power(self) -> RelayLink:
        if self.device.power is None:
            raise PowerError(
                f"phone {device_label(self.device.serial)} has no power relay in devices.yaml"
            )
        return self.device.power

    def _button(self) -> RelayLink:
        if self.device.power_button is None:
            raise PowerError(
                f"phone {device_label(self.device.serial)} has no power-button relay "
                "in devices.yaml"
            )
        return self.device.power_button
