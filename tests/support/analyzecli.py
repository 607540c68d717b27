"""``python -m benches`` in a subprocess, and the rack files ``bench analyze`` tests use:
the phone of tests/pcaps.py with a policy that allows the EEA, the US and vendor.example."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.support.paths import REPO as ROOT

DEVICES = """\
bench:
  name: test-bench
  location: {lat: 60.1699, lon: 24.9384, radius_km: 50}
virtual:
  resolver: 127.0.53.53
  endpoints:
    - {host: zfhmd.vnet.cn, address: 127.0.86.10, country: CN, owner: Chinanet}
    - {host: fota.vendor.example, address: 127.0.44.10, country: FI, owner: Vendor Cloud Oy}
devices:
  - serial: SIM7P0001
    model: TA-1046
    network: {ipv4: 127.0.2.1, mac: "02:00:00:00:02:01"}
    identity:
      imei: ["352098100123452", "352098100123460"]
      iccid: "89358051000000000111"
      imsi: "244051000000001"
      serial: SIM7P0001
      wifi_mac: "02:00:00:00:02:01"
"""

FIRMWARE = """\
build: 00WW_TEST
fingerprint: Nokia/Onyx_00WW/B2N_sprout:10/QKQ1.190828.002/00WW_TEST:user/release-keys
region: global
policy:
  allowed_countries: [EEA, US]
  allowed_hosts: [vendor.example]
  identifier_recipients: [fota.vendor.example]
"""


def rack_files(folder: Path) -> tuple[Path, Path]:
    """devices.yaml and a firmware manifest, written to ``folder``."""
    devices, firmware = folder / "devices.yaml", folder / "firmware.yaml"
    devices.write_text(DEVICES)
    firmware.write_text(FIRMWARE)
    return devices, firmware


def bench(
    *args: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m benches ARGS`` from the repository root; ``env`` added to ours."""
    return subprocess.run(
        [sys.executable, "-m", "benches", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
