"""Virtual racks of many phones, for the parallel sign-off's tests and benchmarks.

The shipped devices.yaml's bench (timings, gateway, adb server) and internet,
with `phones` phones of its model that have no relays and no consoles (the bench
restarts them with `adb reboot`). `shift` moves every loopback address from
127.0.X.Y to 127.<shift>.X.Y, as `rackfiles.relocated_rack` does.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from benches.analysis.detection.forms import luhn_digit
from tests.support.paths import REPO

SHIPPED_RACK = REPO / "devices.yaml"
RACK24 = REPO / "benchmarks" / "virtual-rack24.yaml"


def phone_entry(number: int, shift: int) -> str:
    serial = f"VR{number:03d}X{number * 7919 % 10000:04d}"
    imei = f"35209810{number:06d}"
    iccid = f"8935805100000{number:06d}"
    return (
        f"  - serial: {serial}\n"
        f"    model: TA-1046\n"
        f"    adb_connect: 127.{shift}.1.{number}:5555\n"
        f"    fastboot: tcp:127.{shift}.1.{number}:5554\n"
        f'    network: {{ipv4: 127.{shift}.2.{number}, mac: "02:00:00:00:02:{number:02x}"}}\n'
        f"    identity:\n"
        f'      imei: ["{imei}{luhn_digit(imei)}"]\n'
        f'      iccid: "{iccid}{luhn_digit(iccid)}"\n'
        f'      imsi: "24405100000{number:04d}"\n'
        f"      serial: {serial}\n"
        f'      wifi_mac: "02:00:00:00:02:{number:02x}"\n'
    )


def many_phones_text(phones: int, shift: int = 0, adb_port: int = 5137) -> str:
    """devices.yaml text of a virtual rack of `phones` phones (at most 200)."""
    assert 1 <= phones <= 200
    shipped = SHIPPED_RACK.read_text()
    head = shipped[shipped.index("bench:") : shipped.index("\ndevices:\n")]
    # The shipped phones' faults (their Android releases, ...) name phones not here.
    head = re.sub(r"\n(  #[^\n]*\n)*  faults:\n(    - [^\n]*\n)*", "\n", head + "\n").rstrip("\n")
    # No relay boards: these phones restart with `adb reboot`.
    head = re.sub(r"\n  # Relay boards.*?(?=\n\n)", "", head, flags=re.S)
    head = re.sub(r"\n  relays:\n(    .*\n|      .*\n)*", "\n", head + "\n").rstrip("\n")
    head = head.replace("name: virtual-bench-helsinki", f"name: virtual-rack-{phones}")
    head = head.replace("port: 5137", f"port: {adb_port}")
    if shift:
        head = re.sub(r"127\.0\.(?!0\.)", f"127.{shift}.", head)
    entries = "".join(phone_entry(n, shift) for n in range(1, phones + 1))
    return (
        f"# A virtual rack of {phones} phones without relays or consoles "
        "(tests/support/many_phones.py writes it).\n"
        f"{head}\n\ndevices:\n{entries}"
    )


def many_phones_rack(directory: Path, phones: int, shift: int, adb_port: int) -> Path:
    path = directory / "devices.yaml"
    path.write_text(many_phones_text(phones, shift, adb_port))
    return path


if __name__ == "__main__":
    RACK24.write_text(many_phones_text(24))
    print(RACK24)


def signoff_command(
    devices: Path, reports: Path, kinds: list[str], firmware: Path, extra: list[str]
) -> list[str]:
    """`pytest testcases/test_<kind>.py ...`: the sign-off the rack benchmarks time."""
    tests = [f"testcases/test_{kind}.py" for kind in kinds]
    return [
        sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider",
        "--firmware", str(firmware), "--devices", str(devices), "--reports", str(reports),
        *extra,
    ]  # fmt: skip
