"""A virtual phone's bootloader: fastboot over TCP while the phone sits in it.

`adb reboot bootloader` takes the phone there; the real `fastboot` binary then
flashes it through `FastbootServer`. A flashed system image changes the build
the phone boots next (its build.prop), and `fastboot reboot` boots it.
"""

from __future__ import annotations

import logging
import threading

from benches.sim.fastboot.server import FastbootServer, bootloader_variables
from benches.sim.firmware.images import BOARD, read_build_props
from benches.sim.phone.handset import VirtualPhone

log = logging.getLogger(__name__)

# What a flashed build.prop may change on the phone.
BUILD_PROPS = ("ro.build.fingerprint", "ro.build.display.id")


class VirtualBootloader:
    def __init__(self, phone: VirtualPhone, fastboot_serial: str) -> None:
        scheme, _, address = fastboot_serial.partition(":")
        host, _, port = address.rpartition(":")
        if scheme != "tcp" or not host or not port.isdigit():
            raise ValueError(
                f"{phone.device.serial}: fastboot {fastboot_serial} is not tcp:HOST:PORT"
            )
        self.phone = phone
        self.host, self.port = host, int(port)
        self._server: FastbootServer | None = None
        self._lock = threading.Lock()
        phone.bootloader = self.enter
        phone.bootloader_left = self.leave

    def enter(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            variables = bootloader_variables(BOARD, self.phone.device.serial)
            self._server = FastbootServer(
                self.host, self.port, variables, self._flashed, self._reboot
            )
            self._server.start()
        log.info("%s: fastboot on tcp:%s:%d", self.phone.device.serial, self.host, self.port)

    def leave(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _flashed(self, partition: str, data: bytes) -> None:
        if partition == "system":
            props = read_build_props(data)
            installed = {key: props[key] for key in BUILD_PROPS if key in props}
            self.phone.state.props.update(installed)
            log.info("%s: flashed %s", self.phone.device.serial, installed)
        elif partition == "userdata":
            self.phone.wipe_userdata()

    def _reboot(self, target: str) -> None:
        if target in ("", "continue"):
            # Stopping the server from its own callback is safe; the boot runs on its own thread.
            self.phone.boot_from_bootloader()
