"""Rack files for tests that start their own virtual rack.

They are the shipped devices.yaml moved onto other loopback addresses and
another adb port, so a test's rack never collides with a sign-off run (or
another test) using the shipped one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benches.inventory import load_manifest, load_rack
from benches.pytestplugin.bench import open_bench
from benches.rack.session import BenchSession
from tests.support.paths import REPO

SHIPPED_RACK = REPO / "devices.yaml"
LEAKY = REPO / "firmware" / "ta1046-global-LEAKY-with-cn-activation.yaml"
FIXED = REPO / "firmware" / "ta1046-global-FIXED.yaml"


def relocated_name(shift: int) -> str:
    """The bench name of the rack relocated_rack() moves to 127.<shift>.0.0/16."""
    return f"virtual-bench-helsinki-127-{shift}"


def relocated_rack(directory: Path, shift: int, adb_port: int) -> Path:
    """devices.yaml with the phones and endpoints moved from 127.0.X.Y to 127.<shift>.X.Y.

    127.0.0.1 (the adb server) stays: adb treats any other host as remote. The
    bench gets a name of its own too, so racks that tests run side by side
    (./run test runs several pytest-xdist workers) share nothing a session locks.
    """
    text = re.sub(r"127\.0\.(?!0\.)", f"127.{shift}.", SHIPPED_RACK.read_text())
    text = text.replace("port: 5137", f"port: {adb_port}")
    text, named = re.subn(r"(?m)^  name: \S+$", f"  name: {relocated_name(shift)}", text, count=1)
    assert named == 1, f"no bench.name in {SHIPPED_RACK}"
    path = directory / "devices.yaml"
    path.write_text(text)
    return path


@contextmanager
def virtual_bench(
    workdir: Path, shift: int, adb_port: int, firmware: Path
) -> Iterator[BenchSession]:
    """An open bench session on a relocated virtual rack flashed with `firmware`."""
    rack = load_rack(relocated_rack(workdir, shift, adb_port))
    session = open_bench(rack, load_manifest(firmware), workdir)
    try:
        yield session
    finally:
        session.close()


def with_faults(devices: Path, *faults: str) -> Path:
    """Add `virtual.faults` entries (YAML flow mappings) to a relocated rack file."""
    entries = "".join(f"    - {fault}\n" for fault in faults)
    text = devices.read_text()
    if "\n  faults:\n" in text:  # the shipped rack has some already: add to its list
        text = text.replace("\n  faults:\n", f"\n  faults:\n{entries}", 1)
    else:
        text = text.replace("\ndevices:\n", f"\n  faults:\n{entries}\ndevices:\n", 1)
    devices.write_text(text)
    return devices


def with_timings(devices: Path, **seconds: float) -> Path:
    """Override `bench.timings` values in a relocated rack file."""
    text = devices.read_text()
    for key, value in seconds.items():
        text, count = re.subn(rf"(\n    {key}: )[0-9.]+", rf"\g<1>{value}", text)
        assert count == 1, f"bench.timings.{key} not in {devices}"
    devices.write_text(text)
    return devices
