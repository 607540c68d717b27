"""devices.yaml's relay boards, consoles, PINs, fastboot serials and virtual faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.inventory import InventoryError, load_rack
from benches.inventory.models import AsciiCommands, RelayBoard, RelayLink, SerialConsole
from benches.inventory.virtual import Fault
from tests.support.rack_yaml import VIRTUAL_RACK, edited, line_of, rack_error

REAL_RACK = """\
bench:
  name: lab-rack-3
  location: {lat: 60.17, lon: 24.94}
  relays:
    - {name: relay0, driver: lcus, port: /dev/serial/by-id/usb-1a86_USB_Serial-if00, channels: 4}
    - name: pdu
      driver: ascii
      port: rfc2217://ser2net.lab:7001
      baud: 19200
      channels: 8
      ascii: {switch_on: "ON {channel}\\r\\n", switch_off: "OFF {channel}\\r\\n", reply: OK}
devices:
  - serial: PHONE1
    model: TA-1046
    network: {ipv4: 192.168.50.11}
    identity: {imei: ["352098100123452"]}
    power: {relay: pdu, channel: 3}
    power_button: {relay: relay0, channel: 1}
    console: {port: ttys/phone1, baud: 921600}
    unlock_pin: "0000"
    fastboot: tcp:192.168.50.11:5554
  - serial: PHONE2
    model: TA-1046
    network: {ipv4: 192.168.50.12}
    identity: {imei: ["352098100123478"]}
    power: {relay: relay0, channel: 2}
"""


def test_relays_consoles_pins_and_fastboot_are_read(workdir: Path) -> None:
    Path("devices.yaml").write_text(REAL_RACK)

    rack = load_rack("devices.yaml")

    assert rack.bench.relays == (
        RelayBoard("relay0", "lcus", "/dev/serial/by-id/usb-1a86_USB_Serial-if00", 9600, 4),
        RelayBoard(
            "pdu",
            "ascii",
            "rfc2217://ser2net.lab:7001",
            19200,
            8,
            AsciiCommands("ON {channel}\r\n", "OFF {channel}\r\n", "OK"),
        ),
    )
    phone1, phone2 = rack.devices
    assert phone1.power == RelayLink("pdu", 3)
    assert phone1.power_button == RelayLink("relay0", 1)
    # A relative port is read from devices.yaml's folder.
    assert phone1.console == SerialConsole(str(workdir.resolve() / "ttys" / "phone1"), 921600)
    assert phone1.unlock_pin == "0000"
    assert phone1.fastboot_serial == "tcp:192.168.50.11:5554"
    assert phone2.power == RelayLink("relay0", 2)
    assert phone2.power_button is None and phone2.console is None
    assert phone2.fastboot_serial == "PHONE2"


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "{relay: pdu, channel: 3}",
            "{relay: pdu2, channel: 3}",
            "relay: pdu2",
            "devices[0].power: no relay board named pdu2 (boards: relay0, pdu)",
        ),
        (
            "{relay: relay0, channel: 2}",
            "{relay: relay0, channel: 5}",
            "channel: 5",
            "devices[1].power: relay board relay0 has channels 1-4, not 5",
        ),
        (
            "{relay: relay0, channel: 2}",
            "{relay: relay0, channel: 1}",
            "power: {relay: relay0, channel: 1}",
            "devices[1].power: channel 1 of relay0 is already wired at line 18",
        ),
        (
            "driver: lcus",
            "driver: usbrelay",
            "driver: usbrelay",
            "bench.relays[0].driver: unknown relay driver 'usbrelay' (known: lcus, ascii)",
        ),
        (
            "rfc2217://ser2net.lab:7001",
            "telnet://ser2net.lab:7001",
            "telnet://",
            "bench.relays[1].port: telnet://ser2net.lab:7001: pyserial URLs here are "
            "rfc2217:// or socket://, not telnet://",
        ),
        (
            'switch_on: "ON {channel}\\r\\n"',
            'switch_on: "ON\\r\\n"',
            'switch_on: "ON\\r\\n"',
            "bench.relays[1].ascii.switch_on: 'ON\\r\\n' must contain {channel}, where the channel "
            "number goes",
        ),
        (
            'unlock_pin: "0000"',
            "unlock_pin: 12ab",
            "unlock_pin",
            'devices[0].unlock_pin: unlock_pin must be 4-16 digits, quoted ("0123")',
        ),
        (
            "fastboot: tcp:192.168.50.11:5554",
            "fastboot: usb:1-2",
            "fastboot:",
            "devices[0].fastboot: usb:1-2: fastboot serials over the network are tcp:HOST:PORT",
        ),
    ],
)
def test_bad_hardware_is_one_line_naming_the_key(
    workdir: Path, old: str, new: str, needle: str, message: str
) -> None:
    text = edited(REAL_RACK, old, new)

    assert rack_error(text) == f"devices.yaml:{line_of(text, needle)}: {message}"


def test_an_ascii_board_needs_its_commands(workdir: Path) -> None:
    line = REAL_RACK.splitlines(keepends=True)[line_of(REAL_RACK, "ascii:") - 1]
    text = edited(REAL_RACK, line, "")

    assert rack_error(text).endswith(
        "bench.relays[1]: relay board pdu: the ascii driver needs `ascii:`"
    )


def test_two_things_on_one_port_are_refused(workdir: Path) -> None:
    text = edited(
        REAL_RACK, "port: ttys/phone1", "port: /dev/serial/by-id/usb-1a86_USB_Serial-if00"
    )

    assert "port /dev/serial/by-id/usb-1a86_USB_Serial-if00 is already used at line 5" in (
        rack_error(text)
    )


FAULTS = """\
  faults:
    - {serial: SIM1, kind: hang_at_boot, boot: 2}
    - {serial: SIM1, kind: drop_adb, after_s: 0.5, back_after_s: 3}
    - {serial: SIM1, kind: other_imei, imei: ["352098100123478"]}
    - {serial: SIM1, kind: android_release, sdk: 35}
    - {serial: SIM1, kind: oem_subinfo}
"""


def virtual_with(faults: str) -> str:
    return edited(VIRTUAL_RACK, "devices:\n", faults + "devices:\n")


def test_virtual_faults_are_read(workdir: Path) -> None:
    Path("devices.yaml").write_text(virtual_with(FAULTS))

    rack = load_rack("devices.yaml")

    assert rack.virtual is not None
    assert rack.virtual.faults_of("SIM1") == (
        Fault("SIM1", "hang_at_boot", boot=2),
        Fault("SIM1", "drop_adb", boot=2, after_s=0.5, back_after_s=3),
        Fault("SIM1", "other_imei", imei=("352098100123478",)),
        Fault("SIM1", "android_release", sdk=35),
        Fault("SIM1", "oem_subinfo"),
    )


@pytest.mark.parametrize(
    ("fault", "needle", "message"),
    [
        (
            "{serial: SIM9, kind: hang_at_boot}",
            "SIM9",
            "virtual.faults[0].serial: no device SIM9 in devices[] (devices: SIM1)",
        ),
        (
            "{serial: SIM1, kind: melt}",
            "melt",
            "virtual.faults[0].kind: unknown fault 'melt' (known: hang_at_boot, never_return, "
            "drop_adb, wrong_build, other_imei, android_release, oem_subinfo)",
        ),
        (
            "{serial: SIM1, kind: android_release, sdk: 28}",
            "sdk: 28",
            "virtual.faults[0].sdk: a virtual phone runs SDK 29 to 36, not 28",
        ),
        (
            "{serial: SIM1, kind: oem_subinfo, sdk: 35}",
            "sdk: 35",
            "virtual.faults[0].sdk: a oem_subinfo fault has no sdk",
        ),
        (
            "{serial: SIM1, kind: wrong_build}",
            "wrong_build",
            "virtual.faults[0].fingerprint: a wrong_build fault needs it",
        ),
        (
            "{serial: SIM1, kind: hang_at_boot, back_after_s: 2}",
            "back_after_s",
            "virtual.faults[0].back_after_s: a hang_at_boot fault has no back_after_s",
        ),
        (
            "{serial: SIM1, kind: never_return, boot: 0}",
            "boot: 0",
            "virtual.faults[0].boot: boots count from 1 (the power-on at rack start), not 0",
        ),
    ],
)
def test_bad_faults_are_one_line(workdir: Path, fault: str, needle: str, message: str) -> None:
    text = virtual_with(f"  faults:\n    - {fault}\n")

    assert rack_error(text) == f"devices.yaml:{line_of(text, needle)}: {message}"


def test_a_virtual_rack_serves_its_socket_ports_on_loopback_only(workdir: Path) -> None:
    relays = "  relays:\n    - {name: r, driver: lcus, port: socket://10.0.0.5:4001}\n"
    text = edited(
        VIRTUAL_RACK,
        "  location: {lat: 60.17, lon: 24.94}\n",
        "  location: {lat: 60.17, lon: 24.94}\n" + relays,
    )

    assert "bench.relays[0].port:" in rack_error(text)
    assert "10.0.0.5" in rack_error(text)


def virtual_with_relay_port(port: str) -> str:
    relays = f"  relays:\n    - {{name: r, driver: lcus, port: '{port}'}}\n"
    return edited(
        VIRTUAL_RACK,
        "  location: {lat: 60.17, lon: 24.94}\n",
        "  location: {lat: 60.17, lon: 24.94}\n" + relays,
    )


@pytest.mark.parametrize("port", ["/etc/passwd", "../ttyRELAY0", "ttys/../../x", "/dev/ttyUSB0"])
def test_a_virtual_rack_port_path_must_lie_under_the_rack_file(workdir: Path, port: str) -> None:
    """The virtual rack replaces and later removes what sits at its port paths."""
    text = virtual_with_relay_port(port)

    assert rack_error(text) == (
        f"devices.yaml:{line_of(text, port)}: bench.relays[0].port: {port}: a virtual rack's "
        f"port path must lie in the rack file's folder ({workdir.resolve()}) or below: "
        "the virtual rack makes its link there"
    )


def test_a_linked_folder_cannot_carry_a_virtual_port_out(workdir: Path) -> None:
    (workdir / "elsewhere").mkdir()
    (workdir / "rack").mkdir()
    (workdir / "rack" / "ttys").symlink_to(workdir / "elsewhere")
    Path("rack/devices.yaml").write_text(virtual_with_relay_port("ttys/ttyRELAY0"))
    with pytest.raises(InventoryError, match="must lie in the rack file's folder"):
        load_rack("rack/devices.yaml")


def test_a_virtual_port_in_the_rack_folder_is_read_without_following_its_link(
    workdir: Path,
) -> None:
    (workdir / ".virtual-rack").mkdir()
    (workdir / ".virtual-rack" / "ttyRELAY0").symlink_to("/dev/pts/999999")  # a stale one
    Path("devices.yaml").write_text(virtual_with_relay_port(".virtual-rack/ttyRELAY0"))

    rack = load_rack("devices.yaml")

    assert rack.bench.relays[0].port == str(workdir.resolve() / ".virtual-rack" / "ttyRELAY0")
