"""The bench's driver for one phone over ADB (a USB phone, or a TCP one via `adb connect`).

The driver runs commands and reads state; it never parses packets. Every
command goes to the phone as an argument list that adbutils quotes, never as a
shell string built from devices.yaml values.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable

import adbutils

from benches.adbserver import AdbServer, AdbServerError
from benches.inventory.models import Device


class PhoneError(RuntimeError):
    """The phone did not do what the bench asked; the message names the phone."""


class Phone:
    def __init__(self, device: Device, server: AdbServer) -> None:
        self.device = device
        self.server = server

    @property
    def serial(self) -> str:
        return self.device.serial

    def _adb(self) -> adbutils.AdbDevice:
        return self.server.client().device(serial=self.device.adb_serial)

    def shell(self, args: list[str], timeout: float = 15.0) -> str:
        try:
            return self._adb().shell(args, timeout=timeout)
        except (adbutils.AdbError, OSError) as error:
            raise PhoneError(f"{self.serial}: `{' '.join(args)}` failed: {error}") from None

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
                self._try_reconnect()
            elif "offline" in seen or not booted:
                event("offline")  # adbd may come back before adb noticed it left
                event("device")
                if booted:
                    event("boot_completed")
                    return
            time.sleep(0.2)
        raise PhoneError(
            f"{self.serial}: not booted after {timeout:.0f} s (adb state: {self.state()})"
        )

    def wait_until_booted(self, timeout: float) -> None:
        """Wait for a phone that may already be up (session start), without a reboot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state() != "device":
                self._try_reconnect()
            elif self._boot_completed():
                return
            time.sleep(0.2)
        raise PhoneError(
            f"{self.serial}: not booted after {timeout:.0f} s (adb state: {self.state()})"
        )

    def _try_reconnect(self) -> None:
        with contextlib.suppress(AdbServerError, subprocess.TimeoutExpired):  # still down
            self.reconnect()

    def _boot_completed(self) -> bool:
        try:
            return self.getprop("sys.boot_completed") == "1"
        except PhoneError:
            return False

    def lookup(self, name: str) -> None:
        """Make the phone resolve `name` (the canary); the answer does not matter."""
        self.shell(["ping", "-c", "1", "-W", "1", name])
