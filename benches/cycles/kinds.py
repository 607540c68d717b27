"""The four cycles: boot, unlock, activation and idle, each inside its own capture window.

A cycle drives the phone and records a timeline; it does not judge. The
verdict comes from the analyzer and the policy, on the pcap it leaves behind.
"""

from __future__ import annotations

import time

from benches.capture.gateway import Gateway
from benches.cycles.record import ADB_REBOOT, RELAY, CycleRecord
from benches.cycles.window import CycleWindow
from benches.inventory.models import Timings
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.protocols import PhonePower


def run_boot_cycle(
    phone: Phone,
    gateway: Gateway,
    timings: Timings,
    index: int,
    power: PhonePower | None = None,
    attempt: int = 1,
) -> CycleRecord:
    """A hard power cycle (or `adb reboot`), then boot_completed and the settle time."""
    with CycleWindow(phone, gateway, "boot", index, attempt) as window:
        _restart(window, power)
        phone.wait_for_boot(timings.boot_timeout_s, window.event)
        window.settle(timings.settle_s)
    return window.record


def run_unlock_cycle(
    phone: Phone,
    gateway: Gateway,
    timings: Timings,
    index: int,
    power: PhonePower | None = None,
    attempt: int = 1,
) -> CycleRecord:
    """Screen off, wait, wake, dismiss the keyguard (with devices.yaml's PIN), verify, settle."""
    with CycleWindow(phone, gateway, "unlock", index, attempt) as window:
        window.event("screen_off")
        phone.screen_off()
        time.sleep(timings.screen_off_s)
        window.event("wake")
        phone.wake()
        if not phone.keyguard_showing():
            raise PhoneError(f"{phone.label}: no keyguard after the screen was off: no unlock")
        phone.dismiss_keyguard(phone.device.unlock_pin, window.event)
        window.settle(timings.settle_s)
    return window.record


def run_activation_cycle(
    phone: Phone,
    gateway: Gateway,
    timings: Timings,
    index: int,
    power: PhonePower | None = None,
    attempt: int = 1,
) -> CycleRecord:
    """Factory reset, first boot, provisioning, network and SIM, settle; the PIN is put back."""
    with CycleWindow(phone, gateway, "activation", index, attempt) as window:
        window.event("factory_reset")
        phone.factory_reset()
        phone.wait_for_boot(timings.boot_timeout_s, window.event)
        if phone.is_provisioned():
            raise PhoneError(f"{phone.label}: still provisioned after the factory reset")
        window.event("provisioned")
        phone.complete_provisioning()
        phone.wait_for_network_and_sim(timings.boot_timeout_s)
        window.event("network_attached")
        if phone.device.unlock_pin:  # the reset removed it; later unlock cycles need it
            phone.set_pin(phone.device.unlock_pin)
            window.event("pin_restored")
        window.settle(timings.settle_s)
    return window.record


def run_idle_cycle(
    phone: Phone,
    gateway: Gateway,
    timings: Timings,
    index: int,
    power: PhonePower | None = None,
    attempt: int = 1,
) -> CycleRecord:
    """Screen off, then `idle_s` with nothing driven: what the phone sends on its own."""
    with CycleWindow(phone, gateway, "idle", index, attempt) as window:
        window.event("screen_off")
        phone.screen_off()
        time.sleep(timings.idle_s)
        window.event("idle_done")
    return window.record


def _restart(window: CycleWindow, power: PhonePower | None) -> None:
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
