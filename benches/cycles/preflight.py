"""Before a phone's first cycle: is it running the build under test, and is it the declared phone?

A pass about the wrong firmware, or a leak search for identifiers the phone
does not have, would be worse than no result. Either mismatch takes the phone
out of the session with one line naming both sides; the other phones go on.
"""

from __future__ import annotations

import logging
import threading

from benches.inventory.models import Manifest
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.fastboot.fingerprint import FingerprintMismatch, check_fingerprint
from benches.rack.health import BenchFault, RackHealth
from benches.rack.identity.check import IdentityMismatch, check_identity
from benches.rack.identity.harvest import HarvestError, harvest_identity

log = logging.getLogger(__name__)


class Preflight:
    def __init__(self, manifest: Manifest, health: RackHealth) -> None:
        self.manifest = manifest
        self.health = health
        self._checked: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, phone: Phone) -> None:
        """Check the phone once per session; BenchFault when it must not be tested."""
        with self._lock:
            if phone.serial in self._checked:
                self.health.check(phone.serial)
                return
            self._checked.add(phone.serial)
        try:
            # Their messages name the phone: by its label, never its serial.
            check_fingerprint(
                phone.getprop("ro.build.fingerprint"), self.manifest, serial=phone.label
            )
            check_identity(phone.device.identity, harvest_identity(phone), phone.label)
        except (FingerprintMismatch, IdentityMismatch, HarvestError) as error:
            reason = f"bench misconfiguration: {error}"
            self.health.take_out(phone.serial, reason)
            log.error("%s", reason)
            raise BenchFault(reason) from None
        except PhoneError:
            # Not answering is the recovery chain's business; check again next cycle.
            with self._lock:
                self._checked.discard(phone.serial)
            raise
        log.info(
            "%s: runs %s and is the phone devices.yaml declares", phone.label, self.manifest.build
        )
