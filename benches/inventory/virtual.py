"""Typed models of devices.yaml's `virtual:` section: the virtual rack's internet and faults.

Only the virtual rack (benches.sim) acts on these; the bench reads them only to
place the simulated endpoints (the geo overlay). They live apart from models.py so
that a real rack's models carry nothing of the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """A simulated internet host of the virtual rack, on a loopback address."""

    host: str
    address: str
    country: str  # the country this loopback address stands for
    owner: str  # the network owner (AS name) it stands for


FAULT_KINDS = (
    "hang_at_boot",
    "never_return",
    "drop_adb",
    "wrong_build",
    "other_imei",
    "android_release",
    "oem_subinfo",
)
# The API levels a virtual phone can run: those its own iphonesubinfo table has a row for
# (benches/sim/phone/iphonesubinfo.py), Android 10 to 16.
VIRTUAL_SDKS = range(29, 37)


@dataclass(frozen=True)
class Fault:
    """Something that goes wrong with one virtual phone, for the bench's recovery to face.

    hang_at_boot   boot number `boot` stops before adbd starts; a power cut clears it
    never_return   from boot number `boot` on, the phone never starts again
    drop_adb       `after_s` after boot number `boot` completes, adbd goes away; it comes
                   back `back_after_s` later, or never when that is absent
    wrong_build    the phone runs `fingerprint`, not the manifest's
    other_imei     the phone's own IMEIs are `imei`, whatever devices.yaml declares
    android_release  the phone runs API level `sdk` (Android 10 = 29 ... 16 = 36), not 29
    oem_subinfo    the phone's iphonesubinfo has an OEM method inserted above
                   getDeviceIdForPhone, which shifts that method's code and the later ones
    """

    serial: str
    kind: str  # one of FAULT_KINDS
    boot: int = 2  # 1 is the power-on when the rack starts; 2 the first reboot
    after_s: float = 0.0
    back_after_s: float | None = None
    fingerprint: str | None = None
    imei: tuple[str, ...] = ()
    sdk: int | None = None


@dataclass(frozen=True)
class VirtualRackConfig:
    """Present when devices.yaml describes a virtual rack the bench starts itself."""

    resolver: str  # loopback address of the simulated DNS resolver
    endpoints: tuple[Endpoint, ...]
    faults: tuple[Fault, ...] = ()

    def faults_of(self, serial: str) -> tuple[Fault, ...]:
        return tuple(fault for fault in self.faults if fault.serial == serial)


# Where a virtual endpoint serves TLS while the interceptor listens on its :443 (issue 15):
# mitmdump in reverse mode takes the endpoint's own address and port, so the capture
# still sees phone -> endpoint:443, and forwards to the endpoint here.
INTERCEPTED_TLS_PORT = 8443
