"""A virtual phone: an adbd on its own loopback address, a shell, firmware, a boot sequence."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from benches.inventory.models import Device, Manifest, Timings
from benches.sim.adbd import AdbDaemon, ShellResult
from benches.sim.firmware import BOOT, Firmware, PhoneFacts
from benches.sim.netclient import PhoneNetwork
from benches.sim.shell import PhoneShell
from benches.sim.state import PhoneState

log = logging.getLogger(__name__)


class VirtualPhone:
    """Boots like a phone: off → adbd up (adb shows `device`) → sys.boot_completed=1 → apps run."""

    def __init__(
        self,
        device: Device,
        manifest: Manifest,
        resolver: str,
        timings: Timings,
        location: tuple[float, float],
    ) -> None:
        if not device.adb_connect or not device.network.ipv4:
            raise ValueError(f"{device.serial}: a virtual phone needs adb_connect and network.ipv4")
        self.device = device
        self.timings = timings
        self.firmware = Firmware(manifest.virtual_behaviours)
        self.facts = PhoneFacts(
            identity=device.identity,
            build=manifest.build,
            model=device.model,
            latitude=location[0] + _jitter(device.serial, "lat"),
            longitude=location[1] + _jitter(device.serial, "lon"),
        )
        self.state = PhoneState(props=self._props(device, manifest))
        self.network = PhoneNetwork(device.network.ipv4, resolver)
        self.shell = PhoneShell(self.state, self.network, self.request_reboot)
        host, port = device.adb_connect.rsplit(":", 1)
        self.adbd = AdbDaemon(
            host, int(port), banner=self._banner, shell=self._shell, on_reboot=self.request_reboot
        )
        self.boots = 0
        self._boot_thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _props(device: Device, manifest: Manifest) -> dict[str, str]:
        return {
            "ro.serialno": device.identity.serial or device.serial,
            "ro.product.model": device.model,
            "ro.product.name": "Onyx_00WW",
            "ro.product.device": "B2N_sprout",
            "ro.build.fingerprint": manifest.fingerprint,
            "ro.build.display.id": manifest.build,
            "ro.build.version.release": "10",
            "ro.build.type": "user",
            "sys.boot_completed": "",
            "gsm.sim.state": "READY",
        }

    def _banner(self) -> dict[str, str]:
        props = self.state.props
        return {
            key: props[key] for key in ("ro.product.name", "ro.product.model", "ro.product.device")
        }

    def _shell(self, command: str) -> ShellResult:
        return self.shell.run(command)

    def power_on(self) -> None:
        """Start booting in the background, as pressing the power button does."""
        with self._lock:
            if self._boot_thread and self._boot_thread.is_alive():
                return
            self._boot_thread = threading.Thread(
                target=self._boot, name=f"boot-{self.device.serial}", daemon=True
            )
            self._boot_thread.start()

    def request_reboot(self, reason: str = "") -> None:
        """Called from adbd's `reboot:` service or the shell's `reboot`."""
        log.info("%s: reboot requested (%s)", self.device.serial, reason or "normal")
        self.power_on()

    def _boot(self) -> None:
        self.adbd.stop()  # the ADB connection drops: adb shows the phone offline
        self.state.props["sys.boot_completed"] = ""
        self.state.screen_on = True
        time.sleep(self.timings.boot_offline_s)
        self.adbd.start()  # adbd is up before the framework: `device`, not booted yet
        time.sleep(self.timings.boot_completed_s)
        self.state.props["sys.boot_completed"] = "1"
        self.boots += 1
        self.firmware.fire(BOOT, self.network, self.facts)  # BOOT_COMPLETED receivers

    def wait_idle(self, timeout: float = 30.0) -> None:
        thread = self._boot_thread
        if thread:
            thread.join(timeout)

    def stop(self) -> None:
        self.wait_idle()
        self.adbd.stop()


def _jitter(serial: str, axis: str) -> float:
    """A phone sits a few hundred metres from the bench's reference point."""
    digest = hashlib.sha256(f"{serial}/{axis}".encode()).digest()
    return (digest[0] - 128) / 128 * 0.003
