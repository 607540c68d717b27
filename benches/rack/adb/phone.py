"""The bench's driver for one phone over ADB (a USB phone, or a TCP one via `adb connect`).

The driver runs commands and reads state; it never parses packets. Every
command goes to the phone as an argument list that adbutils quotes, never as a
shell string built from devices.yaml values. Every action that changes the
phone's state is checked afterwards through dumpsys or settings, never trusted.
The PIN never appears in an error or a log.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable

import adbutils

from benches.inventory.models import Device
from benches.rack.adb import dumps as android_dumps
from benches.rack.adb.server import AdbServer, AdbServerError
from benches.redaction.masks import device_label

KEYCODE_HOME, KEYCODE_ENTER, KEYCODE_SLEEP, KEYCODE_WAKEUP = "3", "66", "223", "224"
# What Settings > Reset and TestHarnessModeService send; Android accepts it from root only.
FACTORY_RESET = [
    "am", "broadcast", "-a", "android.intent.action.FACTORY_RESET",
    "-p", "android", "--receiver-foreground",
]  # fmt: skip
SETTLE_CHECK_S = 3.0  # how long a screen, keyguard or settings change may take to show


class PhoneError(RuntimeError):
    """The phone did not do what the bench asked; the message names the phone."""


class Phone:
    check_timeout_s = SETTLE_CHECK_S  # how long a state change may take to show in dumpsys

    def __init__(self, device: Device, server: AdbServer) -> None:
        self.device = device
        self.server = server

    @property
    def serial(self) -> str:
        return self.device.serial

    @property
    def label(self) -> str:
        """The phone's name in messages and reports: its masked serial ("SI…1")."""
        return device_label(self.device.serial)

    def _adb(self) -> adbutils.AdbDevice:
        return self.server.client().device(serial=self.device.adb_serial)

    def shell(self, args: list[str], timeout: float = 15.0, *, shown: str | None = None) -> str:
        """Run `args`; errors name the command as `shown` when the arguments hold a secret."""
        try:
            return self._adb().shell(args, timeout=timeout)
        except (adbutils.AdbError, OSError) as error:
            command = shown or " ".join(args)
            raise PhoneError(f"{self.label}: `{command}` failed: {error}") from None

    def service(self, name: str, timeout: float = 15.0) -> str:
        """What adbd answers a one-shot service (`root:`, `remount:`), read to its close."""
        try:
            with self._adb().open_transport(timeout=timeout) as connection:
                connection.send_command(name)
                connection.check_okay()
                answer: str = connection.read_until_close()
                return answer
        except (adbutils.AdbError, OSError) as error:
            raise PhoneError(f"{self.label}: `{name}` failed: {error}") from None

    def push(self, data: bytes, remote: str, mode: int = 0o644) -> None:
        """Write `data` to the phone's `remote` path (adb's sync protocol)."""
        try:
            self._adb().sync.push(data, remote, mode=mode)
        except (adbutils.AdbError, OSError) as error:
            raise PhoneError(f"{self.label}: adb push to {remote} failed: {error}") from None

    def file_size(self, remote: str) -> int | None:
        """The size of the phone's file at `remote` (None: nothing there)."""
        try:
            info = self._adb().sync.stat(remote)
        except (adbutils.AdbError, OSError) as error:
            raise PhoneError(f"{self.label}: adb stat of {remote} failed: {error}") from None
        return info.size if info.mtime is not None else None

    def getprop(self, name: str) -> str:
        return self.shell(["getprop", name]).strip()

    def state(self) -> str:
        """What the adb server says: device, offline, or absent."""
        for serial, state in self.server.devices():
            if serial == self.device.adb_serial:
                return state
        return "absent"

    def reconnect(self) -> None:
        """Re-attach a TCP phone now; the adb server's own retries come only every 3 s."""
        if self.device.adb_connect:
            self.server.reconnect(self.device.adb_connect, timeout=0.5)

    def reboot(self) -> None:
        # The connection drops as the phone goes down: that is the point.
        with contextlib.suppress(adbutils.AdbError, OSError):
            self._adb().reboot()

    def reboot_bootloader(self) -> None:
        """`adb reboot bootloader`: adbd's own reboot service, which needs no shell permission."""
        with contextlib.suppress(adbutils.AdbError, OSError):
            connection = self._adb().open_transport()  # host:transport to this phone
            try:
                connection.send_command("reboot:bootloader")
                connection.check_okay()
            finally:
                connection.close()

    def wait_for_boot(self, timeout: float, on_event: Callable[[str], None]) -> None:
        """After a reboot: wait for the phone to go down, then for `sys.boot_completed=1`.

        Reports `offline`, `device` and `boot_completed` as they happen. Waiting
        to see it go down first stops a slow reboot from passing for a finished one.
        """
        deadline = time.monotonic() + timeout
        seen: set[str] = set()

        def event(name: str) -> None:
            if name not in seen:
                seen.add(name)
                on_event(name)

        while time.monotonic() < deadline:
            up = self.state() == "device"
            booted = up and self._boot_completed()
            if not up:
                event("offline")
                self.try_reconnect()
            elif "offline" in seen or not booted:
                event("offline")  # adbd may come back before adb noticed it left
                event("device")
                if booted:
                    event("boot_completed")
                    return
            time.sleep(0.2)
        raise PhoneError(
            f"{self.label}: not booted after {timeout:.0f} s (adb state: {self.state()})"
        )

    def wait_until_booted(self, timeout: float) -> None:
        """Wait for a phone that may already be up (session start), without a reboot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state() != "device":
                self.try_reconnect()
            elif self._boot_completed():
                return
            time.sleep(0.2)
        raise PhoneError(
            f"{self.label}: not booted after {timeout:.0f} s (adb state: {self.state()})"
        )

    def try_reconnect(self) -> None:
        with contextlib.suppress(AdbServerError, subprocess.TimeoutExpired):  # still down
            self.reconnect()

    def _boot_completed(self) -> bool:
        try:
            return self.getprop("sys.boot_completed") == "1"
        except PhoneError:
            return False

    def clear_logcat(self) -> None:
        self.shell(["logcat", "-c"])

    def dump_logcat(self) -> str:
        """The phone's log buffer, as `adb logcat -d -v threadtime` prints it."""
        return self.shell(["logcat", "-d", "-v", "threadtime"], timeout=30.0)

    def lookup(self, name: str) -> None:
        """Make the phone resolve `name` (the canary); the answer does not matter."""
        self.shell(["ping", "-c", "1", "-W", "1", name])

    # -- screen, keyguard, provisioning: each action checked through dumpsys or settings --
    def is_screen_on(self) -> bool:
        wakefulness = android_dumps.wakefulness(self.shell(["dumpsys", "power"]))
        if wakefulness is None:
            raise PhoneError(f"{self.label}: `dumpsys power` has no mWakefulness")
        return wakefulness == "Awake"

    def keyguard_showing(self) -> bool:
        showing = android_dumps.keyguard_showing(self.shell(["dumpsys", "window", "policy"]))
        if showing is None:
            raise PhoneError(f"{self.label}: `dumpsys window policy` does not say if it is locked")
        return showing

    def is_unlocked(self) -> bool:
        """Screen on for the user and no keyguard, as dumpsys tells it."""
        return self.is_screen_on() and not self.keyguard_showing()

    def screen_off(self) -> None:
        self.shell(["input", "keyevent", KEYCODE_SLEEP])
        self._expect(lambda: not self.is_screen_on(), "the screen is still on after SLEEP")

    def wake(self) -> None:
        self.shell(["input", "keyevent", KEYCODE_WAKEUP])
        self._expect(self.is_screen_on, "the screen is still off after WAKEUP")

    def dismiss_keyguard(
        self, pin: str | None, on_event: Callable[[str], None] | None = None
    ) -> None:
        """Wake, dismiss the keyguard (typing `pin` into its bouncer), then check it is gone.

        `on_event("unlock")` is called just before the key that unlocks, so traffic
        the unlock causes can never come before its event on the timeline.
        """
        if not self.is_screen_on():
            self.wake()
        # `wm dismiss-keyguard` (Android 8+) unlocks a swipe keyguard, or shows the PIN bouncer.
        if pin:
            self.shell(["wm", "dismiss-keyguard"])
            self.shell(["input", "text", pin], shown="input text <PIN>")
        if on_event:
            on_event("unlock")
        self.shell(["input", "keyevent", KEYCODE_ENTER] if pin else ["wm", "dismiss-keyguard"])
        hint = "with devices.yaml's unlock_pin" if pin else "(devices.yaml has no unlock_pin)"
        self._expect(self.is_unlocked, f"still locked after dismissing the keyguard {hint}")

    def set_pin(self, pin: str) -> None:
        """Give the phone its lock-screen PIN again (a factory reset removed it)."""
        said = self.shell(["locksettings", "set-pin", pin], shown="locksettings set-pin <PIN>")
        if "Pin set" not in said:
            reason = said.replace(pin, "<PIN>").strip() or "no answer"
            raise PhoneError(f"{self.label}: setting the lock-screen PIN failed: {reason}")

    def is_provisioned(self) -> bool:
        """Both provisioning settings are 1: the setup wizard is done (or was skipped)."""
        device = self.shell(["settings", "get", "global", "device_provisioned"]).strip()
        user = self.shell(["settings", "get", "secure", "user_setup_complete"]).strip()
        return device == "1" and user == "1"

    def complete_provisioning(self) -> None:
        """Skip the setup wizard the way QA labs do: set what it sets when it finishes."""
        self.shell(["settings", "put", "global", "device_provisioned", "1"])
        self.shell(["settings", "put", "secure", "user_setup_complete", "1"])
        self.shell(["input", "keyevent", KEYCODE_HOME])  # leave the wizard's last screen
        self._expect(self.is_provisioned, "not provisioned after setting the provisioning flags")

    def factory_reset(self) -> None:
        """Ask the phone to wipe itself; it goes down shortly after (then `wait_for_boot`).

        Android takes the FACTORY_RESET broadcast from root only: the shell is used
        as is when adbd runs as root, else through `su 0` (userdebug builds).
        """
        root = self.shell(["id", "-u"]).strip() == "0"
        said = self.shell(FACTORY_RESET if root else ["su", "0", *FACTORY_RESET])
        if "Broadcast completed" not in said:
            lines = [line for line in said.splitlines() if "Broadcasting:" not in line]
            reason = " ".join(lines[:2]).strip() or "no answer"
            raise PhoneError(
                f"{self.label}: factory reset refused (it needs a root shell: a userdebug "
                f"QA build): {reason}"
            )

    def wait_for_network_and_sim(self, timeout: float) -> None:
        """Wait for a READY SIM (`gsm.sim.state`) and a default network (`dumpsys connectivity`)."""
        deadline = time.monotonic() + timeout
        while True:
            sim = self.getprop("gsm.sim.state")
            network = android_dumps.default_network(self.shell(["dumpsys", "connectivity"]))
            if android_dumps.sim_ready(sim) and network is not None:
                return
            if time.monotonic() >= deadline:
                missing = [] if android_dumps.sim_ready(sim) else [f"SIM not ready ({sim!r})"]
                missing += [] if network else ["no default network"]
                raise PhoneError(f"{self.label}: after {timeout:.0f} s: {', '.join(missing)}")
            time.sleep(0.2)

    def _expect(self, check: Callable[[], bool], failure: str) -> None:
        deadline = time.monotonic() + self.check_timeout_s
        while not check():
            if time.monotonic() >= deadline:
                raise PhoneError(f"{self.label}: {failure}")
            time.sleep(0.1)
