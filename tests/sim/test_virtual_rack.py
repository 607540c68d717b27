"""The virtual rack through the real adb server: listing, identities, reboot order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benches.rack.session import BenchSession
from tests.support.adb_states import devices_long
from tests.support.rackfiles import LEAKY, virtual_bench

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    with virtual_bench(tmp_path_factory.mktemp("rack"), 21, 5161, LEAKY) as session:
        yield session


def test_adb_devices_lists_every_virtual_phone(session: BenchSession) -> None:
    listing = devices_long(session.server)
    for device in session.rack.devices:
        line = next(line for line in listing.splitlines() if line.startswith(device.adb_serial))
        assert " device " in line
        assert "model:TA_1046" in line  # adb writes '-' in a model name as '_'


def test_the_virtual_rack_uses_its_own_adb_server(session: BenchSession) -> None:
    assert session.server.port == 5161
    assert session.rack.bench.adb.port == 5161


def test_identity_comes_from_devices_yaml(session: BenchSession) -> None:
    for device in session.rack.devices:
        phone = session.phones[device.serial]
        assert phone.getprop("ro.serialno") == device.identity.serial
        assert phone.getprop("ro.build.fingerprint") == session.manifest.fingerprint


def test_reboot_goes_offline_then_device_then_boot_completed(session: BenchSession) -> None:
    phone = session.phones[session.rack.devices[0].serial]
    events: list[str] = []
    phone.reboot()
    phone.wait_for_boot(30, events.append)
    assert events == ["offline", "device", "boot_completed"]
    assert phone.getprop("sys.boot_completed") == "1"
    # The other phones did not notice.
    for other in session.rack.devices[1:]:
        assert session.phones[other.serial].state() == "device"


def test_boot_completed_is_empty_while_booting(session: BenchSession) -> None:
    phone = session.phones[session.rack.devices[1].serial]
    phone.reboot()
    samples: list[str] = []

    def record(event: str) -> None:
        if event == "device":
            samples.append(phone.getprop("sys.boot_completed"))

    phone.wait_for_boot(30, record)
    assert samples == [""]  # adbd answers before the framework has booted
