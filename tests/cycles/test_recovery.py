"""Trade Federation's recovery chain against virtual phones that misbehave on purpose."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from benches.cycles.recovery import Recovery
from benches.inventory import load_manifest, load_rack
from benches.pytestplugin.bench import open_bench
from benches.rack.session import BenchSession
from tests.support.rackfiles import FIXED, relocated_rack, with_faults, with_timings

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    workdir = tmp_path_factory.mktemp("recovery")
    devices = relocated_rack(workdir, shift=40, adb_port=5180)
    with_timings(devices, boot_timeout_s=8, recovery_wait_s=6)
    with_faults(
        devices,
        # Drops off ADB 2 s after its first boot and comes back 2 s later.
        "{serial: SIM7P0001, kind: drop_adb, boot: 1, after_s: 2, back_after_s: 2}",
        # No relay in devices.yaml, and it never starts again after its next boot.
        "{serial: SIM7P0003, kind: never_return, boot: 2}",
    )
    session = open_bench(load_rack(devices), load_manifest(FIXED), workdir)
    try:
        yield session
    finally:
        session.close()


def wait_until_gone(session: BenchSession, serial: str, timeout: float = 10) -> None:
    """Until adb no longer lists the phone as a usable `device` (offline or absent)."""
    phone = session.phones[serial]
    deadline = time.monotonic() + timeout
    while phone.state() == "device":
        assert time.monotonic() < deadline, f"{serial} never left"
        time.sleep(0.2)


def test_a_phone_that_drops_off_adb_and_comes_back_is_recovered_by_waiting(
    bench: BenchSession,
) -> None:
    wait_until_gone(bench, "SIM7P0001")  # adbd went away
    phone = bench.phones["SIM7P0001"]

    report = Recovery(phone, bench.power_of("SIM7P0001"), bench.rack.bench.timings).recover(
        "dropped off adb"
    )

    assert report.recovered, report.text()
    assert [step.name for step in report.steps] == ["wait for the phone"]
    assert "the shell answers and the phone is booted" in report.steps[0].detail


def test_a_phone_without_a_relay_that_never_returns_is_marked_broken(bench: BenchSession) -> None:
    phone = bench.phones["SIM7P0003"]
    phone.reboot()  # its boot 2: it never starts again
    wait_until_gone(bench, "SIM7P0003")

    report = Recovery(phone, bench.power_of("SIM7P0003"), bench.rack.bench.timings).recover(
        "did not boot"
    )

    assert not report.recovered
    assert [step.name for step in report.steps] == [
        "wait for the phone",
        "reconnect",
        "check the shell",
        "reboot over adb",
        "power-cycle through the relay",
    ]
    assert not any(step.recovered for step in report.steps)
    assert report.steps[-1].detail == "no relay for this phone in devices.yaml"
    assert report.text().rstrip().endswith("marked broken for the session")
