"""Which build a phone really runs: its `ro.build.fingerprint` against the manifest's.

Checked before a phone's first cycle (benches.cycles.preflight), so a run
never judges a build other than the one under test.
"""

from __future__ import annotations

from benches.inventory.models import Manifest
from benches.rack.fastboot.image import shown


class FingerprintMismatch(Exception):
    """The phone runs another build than the manifest's; the message names both."""


def check_fingerprint(actual: str, manifest: Manifest, *, serial: str) -> None:
    """FingerprintMismatch unless `actual`, the phone's ro.build.fingerprint, is the manifest's."""
    actual = actual.strip()
    if actual == manifest.fingerprint:
        return
    runs = f"runs {actual}" if actual else "reports no ro.build.fingerprint"
    raise FingerprintMismatch(
        f"{serial} {runs}, but the manifest {shown(manifest.path)} is for "
        f"{manifest.fingerprint}: not testing the wrong build"
    )
