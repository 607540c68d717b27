"""The virtual rack: its internet (resolver, endpoints) and its phones, started and stopped."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path

from benches.inventory.models import Manifest, Rack
from benches.inventory.virtual import INTERCEPTED_TLS_PORT
from benches.sim.firmware.behaviours import UnknownBehaviour
from benches.sim.network.certs import RackAuthority
from benches.sim.network.endpoints import HTTPS_PORT, EndpointServers
from benches.sim.network.resolver import Resolver
from benches.sim.network.trust import APEX_STORE, SYSTEM_STORE
from benches.sim.phone.handset import VirtualPhone
from benches.sim.serial.base import SerialServeError
from benches.sim.wiring import VirtualWiring

log = logging.getLogger(__name__)


class VirtualRackError(RuntimeError):
    pass


class VirtualRack:
    def __init__(self, rack: Rack, manifest: Manifest, workdir: Path) -> None:
        if rack.virtual is None:
            raise VirtualRackError(f"{rack.path}: has no `virtual:` section; nothing to simulate")
        self.rack = rack
        self.manifest = manifest
        self.workdir = workdir
        # The phones' file trees (their CA stores, what `adb push` writes) live in a new
        # owner-only folder of their own, not under the reports folder: the simulator runs
        # as root, and nothing planted there can redirect its writes.
        self._phone_trees = Path(tempfile.mkdtemp(prefix="virtual-phones-"))
        virtual = rack.virtual
        location = (rack.bench.location.lat, rack.bench.location.lon)
        # The rack's public CA: it signs the endpoints' certificates, every phone trusts it.
        self.authority = RackAuthority()
        try:
            self.phones = {
                device.serial: VirtualPhone(
                    device,
                    manifest,
                    virtual.resolver,
                    rack.bench.timings,
                    location,
                    faults=virtual.faults_of(device.serial),
                    files=self._phone_files(index),
                    pinned_ca=self.authority.pem(),
                )
                for index, device in enumerate(rack.devices, 1)
            }
        except UnknownBehaviour as error:
            shutil.rmtree(self._phone_trees, ignore_errors=True)
            raise VirtualRackError(f"{manifest.path}: virtual.behaviours: {error}") from None
        try:
            self.wiring = VirtualWiring(rack, self.phones)
        except SerialServeError as error:
            shutil.rmtree(self._phone_trees, ignore_errors=True)
            raise VirtualRackError(str(error)) from None
        self._resolver: Resolver | None = None
        self._endpoints: EndpointServers | None = None

    def _phone_files(self, index: int) -> Path:
        """A new file tree for the rack's `index`th phone, its CA stores holding the rack's CA
        (both: the phone's API level says which one it reads)."""
        root = self._phone_trees / f"phone{index}"
        for store in (SYSTEM_STORE, APEX_STORE):
            folder = root / store.lstrip("/")
            folder.mkdir(mode=0o700, parents=True)
            (folder / self.authority.android_name()).write_bytes(self.authority.pem())
        return root

    def start(self) -> None:
        virtual = self.rack.virtual
        assert virtual is not None
        names = {endpoint.host: endpoint.address for endpoint in virtual.endpoints}
        try:
            self._resolver = Resolver(virtual.resolver, names)
            # With interception on, mitmdump takes each endpoint's :443 (the bench starts it).
            tls_port = INTERCEPTED_TLS_PORT if self.manifest.intercepts else HTTPS_PORT
            self._endpoints = EndpointServers(virtual.endpoints, self.authority, tls_port=tls_port)
        except PermissionError:
            self.stop()
            raise VirtualRackError(
                "the virtual rack's DNS/HTTP/TLS endpoints listen on ports 53, 80 and 443 of "
                "loopback addresses: run as root (as the capture needs too)"
            ) from None
        except OSError as error:
            self.stop()
            raise VirtualRackError(f"cannot start the virtual rack's endpoints: {error}") from None
        self._resolver.start()
        self._endpoints.start()
        try:
            self.wiring.start()
        except (SerialServeError, OSError) as error:
            self.stop()
            raise VirtualRackError(
                f"cannot serve the virtual rack's serial ports: {error}"
            ) from None
        for phone in self.phones.values():
            # A phone on a supply relay waits for the bench to switch its power on.
            if not self.wiring.powered_by_relay(phone):
                phone.power_on()
        log.info("virtual rack up: %d phones, build %s", len(self.phones), self.manifest.build)

    def stop(self) -> None:
        # All at once: each phone's stop joins its adbd's threads (~16 ms), 24 phones 0.4 s.
        # A phone that fails to stop is raised here once the others stopped, as before.
        failures: list[Exception] = []

        def stop_phone(phone: VirtualPhone) -> None:
            try:
                phone.stop()
            except Exception as error:  # noqa: BLE001  # raised again below
                failures.append(error)

        stopping = [
            threading.Thread(target=stop_phone, args=(phone,), name=f"stop-phone-{number}")
            for number, phone in enumerate(self.phones.values(), start=1)
        ]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        if failures:
            raise failures[0]
        self.wiring.stop()
        if self._endpoints:
            self._endpoints.stop()
        if self._resolver:
            self._resolver.stop()
        self._endpoints = self._resolver = None
        shutil.rmtree(self._phone_trees, ignore_errors=True)
