"""What the tests read from a virtual system image: its fingerprint."""

from __future__ import annotations

from benches.sim.firmware.images import read_build_props


def read_fingerprint(system_image: bytes) -> str | None:
    """`ro.build.fingerprint` from a flashed system image, or None when it has none."""
    return read_build_props(system_image).get("ro.build.fingerprint") or None
