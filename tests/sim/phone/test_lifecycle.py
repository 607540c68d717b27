"""The virtual phone's lifecycle: power, console, keyguard, setup wizard, factory reset, faults.

Phones are driven the way the bench drives them: through the real adb server
(port 5201) and `benches.rack.adb.phone.Phone`. What the firmware sends is read off a
real HTTP server standing for its hosts. Addresses: 127.61.1xx.* only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from benches.inventory import load_manifest
from benches.inventory.models import Manifest
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.adb.server import AdbServer
from benches.sim.phone.handset import VirtualPhone
from tests.support.lifecycle_rig import ADB_PORT, FAST, RESOLVER, WAIT_S, Internet, device, fault
from tests.support.lifecycle_rig import wait_until as wait
from tests.support.rackfiles import LEAKY

pytestmark = pytest.mark.live

OTHER_IMEI = ("490154203237518",)
OTHER_BUILD = "Nokia/Onyx_00CN/B2N_sprout:10/QKQ1.190828.002/00CN_3_22C:user/release-keys"


@pytest.fixture(scope="module")
def internet() -> Iterator[Internet]:
    net = Internet()
    net.start()
    yield net
    net.stop()


@pytest.fixture(scope="module")
def adb() -> Iterator[AdbServer]:
    server = AdbServer("127.0.0.1", ADB_PORT, usb=False)
    server.start()
    yield server
    server.kill()


class Rig:
    def __init__(self, manifest: Manifest, adb: AdbServer) -> None:
        self.manifest, self.adb = manifest, adb
        self.phones: list[VirtualPhone] = []

    def phone(self, number: int, pin: str | None = None, **options: Any) -> VirtualPhone:
        phone = VirtualPhone(
            device(number, pin), self.manifest, RESOLVER, FAST, (60.17, 24.94), **options
        )
        self.phones.append(phone)
        return phone

    def booted(
        self, number: int, pin: str | None = None, **options: Any
    ) -> tuple[VirtualPhone, Phone]:
        phone = self.phone(number, pin, **options)
        phone.power_on()
        driver = Phone(phone.device, self.adb)
        driver.check_timeout_s = 0.5  # a wrong PIN stays wrong: no need to wait long
        driver.wait_until_booted(WAIT_S)
        phone.wait_idle()
        return phone, driver

    def close(self) -> None:
        for phone in self.phones:
            phone.stop()
            self.adb.disconnect(phone.device.adb_serial)


@pytest.fixture
def rig(internet: Internet, adb: AdbServer) -> Iterator[Rig]:
    rig = Rig(load_manifest(LEAKY), adb)
    yield rig
    rig.close()


# -- power, boot and console -------------------------------------------------------------
def test_boot_prints_on_the_console_in_order(rig: Rig) -> None:
    phone = rig.phone(1)
    lines: list[str] = []
    phone.console = lines.append
    phone.power_on()
    wait(lambda: any("sys.boot_completed=1" in line for line in lines), "boot_completed line")
    assert lines[0].startswith("[    0.0") and lines[0].endswith(
        "Booting Linux on physical CPU 0x0"
    )
    order = [
        next(i for i, line in enumerate(lines) if text in line)
        for text in ("Booting Linux", "init: starting service 'adbd'...", "sys.boot_completed=1")
    ]
    assert order == sorted(order)
    assert phone.boots == 1 and phone.phase == "on" and phone.state.booted


@pytest.mark.parametrize("stage", ["before adbd", "adbd up"])
def test_a_power_cut_mid_boot_never_marks_the_phone_booted(rig: Rig, stage: str) -> None:
    phone = rig.phone(2)
    lines: list[str] = []
    phone.console = lines.append
    phone.power_on()
    if stage == "adbd up":
        wait(lambda: phone.adbd.running, "adbd")
    phone.power_cut()
    phone.wait_idle()  # the abandoned boot thread has ended
    assert not phone.state.booted and not phone.adbd.running and phone.phase == "off"
    assert not any("boot_completed" in line for line in lines)
    assert "boot" not in phone.events_fired
    phone.power_restore()  # on a battery eliminator it boots again by itself
    wait(lambda: phone.state.booted, "the second boot")
    assert phone.boots == 2 and phone.adbd.running


def test_power_button_switches_on_only_when_held(rig: Rig) -> None:
    phone = rig.phone(3, boots_on_power=False)
    phone.press_power_button(1.0)  # no power: nothing
    phone.power_restore()
    assert phone.phase == "off"
    phone.press_power_button(0.2)
    assert phone.phase == "off"
    phone.press_power_button(0.6)
    wait(lambda: phone.state.booted, "boot after the power button")
    phone.press_power_button(0.1)  # on: a short press is KEYCODE_POWER
    assert not phone.state.screen_on and phone.state.keyguard_showing
    phone.press_power_button(0.1)
    assert phone.state.screen_on and phone.boots == 1


def test_reboot_into_the_bootloader_and_out(rig: Rig) -> None:
    phone, driver = rig.booted(4)
    entered, left = threading.Event(), threading.Event()
    phone.bootloader, phone.bootloader_left = entered.set, left.set
    rig.adb.run("-s", phone.device.adb_serial, "reboot", "bootloader")
    assert entered.wait(WAIT_S)
    assert phone.phase == "bootloader" and not phone.adbd.running and not phone.state.booted
    phone.boot_from_bootloader()
    assert left.wait(WAIT_S)
    driver.wait_until_booted(WAIT_S)
    assert phone.boots == 2


# -- keyguard, through the real adb server ------------------------------------------------
def test_swipe_keyguard_menu_and_dismiss(rig: Rig, internet: Internet) -> None:
    phone, driver = rig.booted(5)
    assert driver.is_screen_on() and driver.keyguard_showing() and not driver.is_unlocked()
    driver.dismiss_keyguard(None)
    assert driver.is_unlocked()
    driver.screen_off()
    assert not driver.is_screen_on() and driver.keyguard_showing()
    driver.wake()
    assert not driver.is_unlocked()
    driver.shell(["input", "keyevent", "82"])  # MENU dismisses a keyguard without a PIN
    assert driver.is_unlocked()
    phone.wait_idle()
    assert [leak["event"] for leak in internet.leaks(phone.device.serial)] == [
        "boot",
        "unlock",
        "unlock",
    ]


def test_pin_keyguard_needs_the_right_pin(rig: Rig) -> None:
    phone, driver = rig.booted(6, pin="4711")
    driver.shell(["input", "keyevent", "82"])  # MENU only brings up the PIN bouncer
    driver.shell(["wm", "dismiss-keyguard"])
    assert driver.keyguard_showing()
    with pytest.raises(PhoneError, match=f"{driver.label}: still locked") as wrong:
        driver.dismiss_keyguard("0000")
    assert "0000" not in str(wrong.value)
    assert phone.device.serial not in str(wrong.value)  # named by its label, "SI…1"
    assert "deviceLocked=1" in driver.shell(["dumpsys", "trust"])
    with pytest.raises(PhoneError, match="no unlock_pin"):
        driver.dismiss_keyguard(None)
    driver.dismiss_keyguard("4711")
    assert driver.is_unlocked()
    assert "deviceLocked=0" in driver.shell(["dumpsys", "trust"])
    phone.wait_idle()
    assert phone.events_fired == ["boot", "unlock"]


# -- setup wizard, factory reset, activation ------------------------------------------------
def test_factory_reset_shows_the_wizard_and_activation_fires_once(
    rig: Rig, internet: Internet
) -> None:
    phone, driver = rig.booted(7, pin="4711")
    driver.dismiss_keyguard("4711")
    phone.wait_idle()
    driver.factory_reset()
    events: list[str] = []
    driver.wait_for_boot(WAIT_S, events.append)
    assert events == ["offline", "device", "boot_completed"]
    assert not driver.is_provisioned()
    assert "mResumedActivity: ActivityRecord{3a1b2c4 u0 com.google.android.setupwizard/" in (
        driver.shell(["dumpsys", "activity", "activities"])
    )
    assert phone.state.pin is None and not driver.keyguard_showing()  # the wizard has none
    phone.wait_idle()
    assert "activation" not in phone.events_fired
    driver.complete_provisioning()
    driver.wait_for_network_and_sim(WAIT_S)
    driver.set_pin("4711")
    for value in ("0", "1"):  # provisioning again is no new activation
        driver.shell(["settings", "put", "global", "device_provisioned", value])
    phone.wait_idle()
    assert phone.events_fired == ["boot", "unlock", "boot", "activation"]
    leaks = internet.leaks(phone.device.serial)
    assert [leak["event"] for leak in leaks] == ["boot", "unlock", "boot", "activation"]
    assert {leak["imei"] for leak in leaks} == {"352098100123452"}
    driver.screen_off()
    driver.wake()
    driver.dismiss_keyguard("4711")  # the PIN is back


def test_activation_waits_for_the_network(rig: Rig) -> None:
    phone, driver = rig.booted(8)
    driver.factory_reset()
    driver.wait_for_boot(WAIT_S, lambda event: None)
    driver.shell(["svc", "data", "disable"])
    driver.shell(["svc", "wifi", "disable"])
    driver.complete_provisioning()
    with pytest.raises(PhoneError, match="no default network"):
        driver.wait_for_network_and_sim(0.5)
    phone.wait_idle()
    assert "activation" not in phone.events_fired
    driver.shell(["svc", "wifi", "enable"])
    phone.wait_idle()
    assert phone.events_fired.count("activation") == 1


def test_a_user_build_refuses_the_factory_reset(rig: Rig) -> None:
    phone, driver = rig.booted(9, debuggable=False)
    with pytest.raises(PhoneError, match="factory reset refused.*userdebug"):
        driver.factory_reset()
    assert "Permission Denial" in driver.shell(
        ["am", "broadcast", "-a", "android.intent.action.FACTORY_RESET", "-p", "android"]
    )
    assert driver.is_provisioned() and phone.boots == 1


# -- faults ---------------------------------------------------------------------------------
def test_hang_at_boot_until_the_power_is_cut(rig: Rig) -> None:
    phone, driver = rig.booted(10, faults=[fault(10, "hang_at_boot", boot=2)])
    lines: list[str] = []
    phone.console = lines.append
    driver.reboot()
    wait(lambda: phone.boots == 2, "the second boot")
    phone.wait_idle()
    assert phone.phase == "booting" and not phone.adbd.running and not phone.state.booted
    wait(lambda: any("timed out" in line for line in lines), "the hang on the console")
    phone.power_cut()
    phone.power_restore()
    driver.wait_until_booted(WAIT_S)
    assert phone.boots == 3


def test_a_power_cut_takes_the_phones_network_down_until_it_boots(rig: Rig) -> None:
    """A behaviour of the boot that ended may still run on the firmware's thread: it must
    send nothing more, or its packets land in the next cycle's capture."""
    phone, driver = rig.booted(14)
    assert phone.network.enabled
    phone.power_cut()
    assert not phone.network.enabled
    phone.power_restore()
    driver.wait_until_booted(WAIT_S)
    assert phone.network.enabled


def test_never_return_survives_power_cycles(rig: Rig) -> None:
    phone, driver = rig.booted(11, faults=[fault(11, "never_return", boot=2)])
    driver.reboot()
    for boot in (2, 3):
        wait(lambda boot=boot: phone.boots == boot, f"boot {boot}")
        phone.wait_idle()
        assert not phone.adbd.running and not phone.state.booted
        phone.power_cut()
        phone.power_restore()


@pytest.mark.parametrize("back_after_s", [0.3, None])
def test_drop_adb_after_boot(rig: Rig, back_after_s: float | None) -> None:
    drop = fault(12, "drop_adb", boot=1, after_s=0.2, back_after_s=back_after_s)
    phone = rig.phone(12, faults=[drop])
    phone.power_on()
    wait(lambda: phone.state.booted, "boot")
    wait(lambda: not phone.adbd.running, "adbd to drop")
    assert phone.state.booted  # the phone is up; only adb lost it
    phone.wait_idle()
    assert phone.adbd.running == (back_after_s is not None)


def test_wrong_build_and_other_imei(rig: Rig, internet: Internet) -> None:
    faults = [
        fault(13, "wrong_build", fingerprint=OTHER_BUILD),
        fault(13, "other_imei", imei=OTHER_IMEI),
    ]
    phone, driver = rig.booted(13, faults=faults)
    assert driver.getprop("ro.build.fingerprint") == OTHER_BUILD
    assert phone.actual_identity().imei == OTHER_IMEI
    assert phone.device.identity.imei != OTHER_IMEI
    assert [leak["imei"] for leak in internet.leaks(phone.device.serial)] == list(OTHER_IMEI)
