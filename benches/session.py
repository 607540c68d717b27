"""One bench session: its adb server, the virtual rack when devices.yaml has one, the phones.

The pytest plugin opens one per test session; `bench` commands open their own.
It is the only place that knows whether the rack is virtual.
"""

from __future__ import annotations

import logging
from pathlib import Path

from benches.adbserver import AdbServer
from benches.inventory.models import Manifest, Rack
from benches.phone import Phone, PhoneError
from benches.sim.rack import VirtualRack

log = logging.getLogger(__name__)


class BenchSession:
    def __init__(self, rack: Rack, manifest: Manifest, workdir: Path) -> None:
        self.rack = rack
        self.manifest = manifest
        # A virtual rack's private server need not scan USB; a real bench's must.
        self.server = AdbServer(rack.bench.adb.host, rack.bench.adb.port, usb=rack.virtual is None)
        self.virtual = VirtualRack(rack, manifest, workdir) if rack.virtual else None
        self.phones = {device.serial: Phone(device, self.server) for device in rack.devices}

    def open(self) -> None:
        self.server.start()
        if self.virtual:
            self.virtual.start()
        for phone in self.phones.values():
            self._wait_ready(phone)

    def _wait_ready(self, phone: Phone) -> None:
        try:
            phone.wait_until_booted(self.rack.bench.timings.boot_timeout_s)
        except PhoneError as error:
            # The phone's own tests will fail on it; the others go on.
            log.error("%s", error)

    def close(self) -> None:
        for phone in self.phones.values():
            if phone.device.adb_connect:
                self.server.disconnect(phone.device.adb_connect)
        if self.virtual:
            self.virtual.stop()
            # A private server for a virtual rack goes with it; a real bench's stays.
            self.server.kill()
