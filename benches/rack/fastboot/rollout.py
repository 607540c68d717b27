"""The rollout (`--flash`): the manifest's image on every phone of the rack before the first cycle.

Per phone: `adb reboot bootloader`, wait for fastboot to see it, `fastboot
update` the verified image, reboot, wait for the boot. A phone that fails
leaves the session with the reason; the image is verified once, before any
phone is touched, so a wrong file never reaches a phone.
"""

from __future__ import annotations

import logging
import time

from benches.inventory.models import Manifest, Timings
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.fastboot.client import Fastboot, FlashError
from benches.rack.fastboot.image import flash_image, verify_image
from benches.rack.health import RackHealth

log = logging.getLogger(__name__)

POLL_S = 0.5


def flash_rack(
    phones: list[Phone], manifest: Manifest, timings: Timings, health: RackHealth
) -> None:
    """Raises ImageRejected (one line) when the image is not the manifest's."""
    image = verify_image(manifest)
    for number, phone in enumerate(phones, 1):
        log.info("flashing %s (%d of %d) with %s", phone.label, number, len(phones), image.name)
        try:
            flash_phone(phone, manifest, timings)
        except (FlashError, PhoneError) as error:
            health.take_out(phone.serial, f"bench fault: flashing {phone.label} failed: {error}")
            log.error("flashing %s failed: %s", phone.serial, error)


def flash_phone(phone: Phone, manifest: Manifest, timings: Timings) -> None:
    fastboot = Fastboot(phone.device.fastboot_serial)
    phone.reboot_bootloader()
    _wait_for_fastboot(phone, fastboot, timings.boot_timeout_s)
    flash_image(manifest, fastboot)
    phone.wait_for_boot(
        timings.boot_timeout_s, lambda event: log.info("%s: %s", phone.serial, event)
    )


def _wait_for_fastboot(phone: Phone, fastboot: Fastboot, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fastboot.devices_seen():
            return
        time.sleep(POLL_S)
    raise FlashError(
        f"{phone.label}: not in fastboot as {phone.device.fastboot_serial} after {timeout:.0f} s"
    )
