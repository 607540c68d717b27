"""Which of a virtual phone's injected faults (devices.yaml `virtual.faults`) strike at which boot.

Boots are counted from 1, the power-on when the rack starts; every boot after
that (a reboot, a power cycle, the boot after a factory reset or from the
bootloader) is the next number. See `benches.inventory.models.Fault`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from benches.inventory.models import Identity
from benches.inventory.virtual import Fault


@dataclass(frozen=True)
class Drop:
    after_s: float
    back_after_s: float | None


class FaultPlan:
    def __init__(self, serial: str, faults: Sequence[Fault]) -> None:
        self.faults = tuple(fault for fault in faults if fault.serial == serial)

    def _of(self, kind: str) -> list[Fault]:
        return [fault for fault in self.faults if fault.kind == kind]

    def dead(self, boot: int) -> bool:
        """never_return: from its boot on, nothing starts."""
        return any(boot >= fault.boot for fault in self._of("never_return"))

    def hangs(self, boot: int) -> bool:
        """hang_at_boot: this boot stops before adbd starts."""
        return any(boot == fault.boot for fault in self._of("hang_at_boot"))

    def drop(self, boot: int) -> Drop | None:
        """drop_adb: adbd goes away `after_s` after this boot completes."""
        for fault in self._of("drop_adb"):
            if boot == fault.boot:
                return Drop(fault.after_s, fault.back_after_s)
        return None

    def fingerprint(self, default: str) -> str:
        return next((f.fingerprint for f in self._of("wrong_build") if f.fingerprint), default)

    def sdk(self) -> int | None:
        """android_release: the API level the phone runs, when not the default."""
        return next((f.sdk for f in self._of("android_release") if f.sdk is not None), None)

    def oem_subinfo(self) -> bool:
        """oem_subinfo: an OEM method inserted in the phone's iphonesubinfo."""
        return bool(self._of("oem_subinfo"))

    def identity(self, declared: Identity) -> Identity:
        """The phone's own identity: devices.yaml's, unless other_imei gives it other IMEIs."""
        for fault in self._of("other_imei"):
            if fault.imei:
                return dataclasses.replace(declared, imei=tuple(fault.imei))
        return declared
