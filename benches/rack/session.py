"""One bench session: its adb server, the virtual rack when devices.yaml has one, the phones.

The pytest plugin opens one per test session; `bench` commands open their own.
The session never imports the simulator: whoever opens it builds the virtual
rack (benches.pytestplugin.bench, the only place that does) and gives it over
as a `VirtualRackProtocol`, which the session starts and stops with the rest.

A parallel sign-off opens one session in the pytest-xdist controller and an
*attached* one in each worker: an attached session drives the phones through
the running adb server and virtual rack, never starting, switching on, waiting
for or stopping anything. Both share the relay boards (`RelayBank(shared=True)`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from benches.inventory.models import Manifest, Rack
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.adb.server import AdbServer
from benches.rack.health import RackHealth
from benches.rack.power import PowerError, PowerSwitch, RelayBank
from benches.rack.protocols import VirtualRackProtocol
from benches.redaction.masks import device_label

log = logging.getLogger(__name__)


class BenchSession:
    def __init__(
        self,
        rack: Rack,
        manifest: Manifest,
        virtual: VirtualRackProtocol | None = None,
        *,
        attached: bool = False,
        shared: bool = False,
    ) -> None:
        """`virtual` is the simulator for a rack with a `virtual:` section, and only for one
        (an `attached` session has none: another process runs it). `shared`: other
        processes drive the same relay boards (a parallel sign-off)."""
        if attached and virtual is not None:
            raise ValueError(f"{rack.path}: an attached session runs no virtual rack")
        if not attached and (rack.virtual is None) != (virtual is None):
            wanted = "needs its virtual rack" if virtual is None else "is not virtual"
            raise ValueError(f"{rack.path}: this rack {wanted}")
        self.rack = rack
        self.manifest = manifest
        # A virtual rack's private server need not scan USB; a real bench's must.
        self.server = AdbServer(rack.bench.adb.host, rack.bench.adb.port, usb=rack.virtual is None)
        self.virtual = virtual
        self.attached = attached
        self.phones = {device.serial: Phone(device, self.server) for device in rack.devices}
        self.relays = RelayBank(rack.bench.relays, shared=shared or attached)
        self.power = {
            device.serial: PowerSwitch(self.relays, device, rack.bench.timings)
            for device in rack.devices
            if device.power or device.power_button
        }
        self.health = RackHealth()
        # Stopped first by close(): what the opener ran beside the session (the TLS interceptor).
        self.on_close: list[Callable[[], None]] = []

    def open(self) -> None:
        if self.attached:
            return  # the controller's session started everything
        self.server.start()
        if self.virtual is not None:
            self.virtual.start()
        for serial, switch in self.power.items():
            self._switch_on(serial, switch)
        # All at once: the phones boot together, and each wait has a fixed cost of its own
        # (adb connect, a poll): one after another, 24 phones added 5.5 s to every session.
        # An error a wait does not handle (the adb server gone, say) is raised here, as it
        # was when the waits ran in this thread.
        errors: list[Exception] = []
        waiting = [
            threading.Thread(
                target=self._wait_ready_into, args=(phone, errors), name=f"wait-{phone.label}"
            )
            for phone in self.phones.values()
        ]
        for thread in waiting:
            thread.start()
        for thread in waiting:
            thread.join()
        if errors:
            raise errors[0]

    def power_of(self, serial: str) -> PowerSwitch | None:
        return self.power.get(serial)

    def _switch_on(self, serial: str, switch: PowerSwitch) -> None:
        """Supplies run through normally-open contacts: the session closes them first."""
        try:
            if switch.has_power:
                switch.on()
        except PowerError as error:
            self.health.take_out(
                serial, f"{device_label(serial)}: cannot switch its power on: {error}"
            )
            log.error("%s", error)

    def _wait_ready_into(self, phone: Phone, errors: list[Exception]) -> None:
        try:
            self._wait_ready(phone)
        except Exception as error:  # noqa: BLE001  # raised again by open()
            errors.append(error)

    def _wait_ready(self, phone: Phone) -> None:
        if self.health.reason(phone.serial):
            return
        try:
            phone.wait_until_booted(self.rack.bench.timings.boot_timeout_s)
        except PhoneError as error:
            # Its first cycle meets it with the recovery chain; the others go on.
            log.error("%s", error)

    def close(self) -> None:
        while self.on_close:  # what the opener started beside the session, last first
            self.on_close.pop()()
        self.relays.close()
        if self.attached:
            return  # the controller's session stops what it started
        if self.virtual is None:  # a virtual rack's private server goes, and its links with it
            for phone in self.phones.values():
                if phone.device.adb_connect:
                    self.server.disconnect(phone.device.adb_connect)
        if self.virtual is not None:
            self.virtual.stop()
            # A private server for a virtual rack goes with it; a real bench's stays.
            self.server.kill()
