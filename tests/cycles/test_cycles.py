"""The four cycles on a virtual rack flashed with the leaky build, judged from their own pcaps.

Everything is real: the adb server (port 5202), the virtual phones and their
firmware's packets on 127.64.*, the gateway capture on `lo`, and for the relay
boot a virtual LCUS relay board on a pty that `benches.rack.power` drives through
pyserial. The leaky build must fail each cycle that fires its China-variant
client, with the leak placed after the cycle's own event.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benches.analysis.attribution.geo import GeoDatabase
from benches.capture.gateway import Gateway
from benches.cycles import (
    CycleRecord,
    run_activation_cycle,
    run_boot_cycle,
    run_idle_cycle,
    run_unlock_cycle,
)
from benches.inventory.models import RelayBoard, RelayLink, Timings
from benches.policy.judge import CycleResult, judge_cycle
from benches.rack.adb.phone import Phone
from benches.rack.power import PowerSwitch, RelayBank
from benches.rack.session import BenchSession
from benches.sim.phone.handset import VirtualPhone
from benches.sim.relays.board import VirtualRelayBoard
from tests.support.rackfiles import LEAKY, virtual_bench

pytestmark = pytest.mark.live

CN = "zfhmd.vnet.cn"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    with virtual_bench(tmp_path_factory.mktemp("rack"), 64, 5202, LEAKY) as session:
        yield session


@pytest.fixture(scope="module")
def geo(bench: BenchSession) -> GeoDatabase:
    assert bench.rack.virtual is not None
    return GeoDatabase.for_rack(bench.rack)


@pytest.fixture
def pcaps(tmp_path: Path) -> Gateway:
    return Gateway("lo", tmp_path)


def timings(bench: BenchSession) -> Timings:
    short = dict(settle_s=0.5, screen_off_s=0.2, idle_s=0.5, power_off_s=0.2, power_button_s=0.1)
    return dataclasses.replace(bench.rack.bench.timings, **short)


def parts(bench: BenchSession, number: int) -> tuple[Phone, VirtualPhone]:
    device = bench.rack.devices[number]
    assert bench.virtual is not None
    return bench.phones[device.serial], bench.virtual.phones[device.serial]


def names(record: CycleRecord) -> list[str]:
    return [event.name for event in record.timeline]


def judged(bench: BenchSession, geo: GeoDatabase, record: CycleRecord) -> CycleResult:
    return judge_cycle(record, bench.rack, bench.manifest, geo)


def leak_after(result: CycleResult, *events: str) -> None:
    """The leaky client's report is a finding, placed after one of `events` on the timeline."""
    assert result.verdict.outcome == "fail", result.summary()
    leaks = [f for f in result.verdict.findings if f.dst_host == CN]
    assert leaks, result.summary()
    places = {result.when(finding) or "" for finding in leaks}
    assert any(place.endswith(f"after {event}") for place in places for event in events), places


def test_boot_without_relay_is_an_adb_reboot(
    bench: BenchSession, geo: GeoDatabase, pcaps: Gateway
) -> None:
    phone, virtual = parts(bench, 0)
    boots = virtual.boots
    record = run_boot_cycle(phone, pcaps, timings(bench), 1)
    assert record.kind == "boot" and record.power_method == "adb reboot"
    assert names(record) == [
        "capture_started", "canary", "reboot", "offline", "device", "boot_completed",
        "settle_done", "canary", "capture_stopped",
    ]  # fmt: skip
    assert virtual.boots == boots + 1 and len(record.canaries) == 2
    leak_after(judged(bench, geo, record), "boot completed", "adb came online")


def test_boot_with_relays_is_a_hard_power_cycle(
    bench: BenchSession, geo: GeoDatabase, pcaps: Gateway, tmp_path: Path
) -> None:
    phone, virtual = parts(bench, 0)
    board = RelayBoard(name="relay0", driver="lcus", port=str(tmp_path / "dev" / "relay0"))
    wired = dataclasses.replace(
        phone.device, power=RelayLink("relay0", 1), power_button=RelayLink("relay0", 2)
    )
    relay = VirtualRelayBoard(board, Wiring(virtual))
    relay.start()
    bank = RelayBank((board,))
    try:
        switch = PowerSwitch(bank, wired, timings(bench))
        switch.on()  # the supply relay closed, as the rack runs
        boots = virtual.boots
        record = run_boot_cycle(phone, pcaps, timings(bench), 2, power=switch)
    finally:
        bank.close()
        relay.stop()
    assert record.power_method == "relay"
    assert names(record)[2:7] == ["power_off", "power_on", "power_button", "offline", "device"]
    assert virtual.boots == boots + 1  # the power cut, not the button, booted it
    leak_after(judged(bench, geo, record), "boot completed", "adb came online")


class Wiring:
    """What the relays' contacts do to the phone: channel 1 its supply, 2 its power key."""

    def __init__(self, phone: VirtualPhone) -> None:
        self.phone = phone
        self.pressed_at = 0.0

    def __call__(self, channel: int, closed: bool) -> None:
        if channel == 1:
            self.phone.power_restore() if closed else self.phone.power_cut()
        elif channel == 2 and closed:
            self.pressed_at = time.monotonic()
        elif channel == 2:
            self.phone.press_power_button(time.monotonic() - self.pressed_at)


@pytest.mark.parametrize("pin", [None, "2580"])
def test_unlock_fails_the_leaky_build_after_the_unlock(
    bench: BenchSession, geo: GeoDatabase, pcaps: Gateway, pin: str | None
) -> None:
    phone, virtual = parts(bench, 1)
    if pin:
        phone.set_pin(pin)
        phone = Phone(dataclasses.replace(phone.device, unlock_pin=pin), bench.server)
    record = run_unlock_cycle(phone, pcaps, timings(bench), 1)
    assert record.kind == "unlock" and record.power_method is None
    assert names(record)[2:6] == ["screen_off", "wake", "unlock", "settle_done"]
    assert phone.is_unlocked()
    virtual.wait_idle()
    assert virtual.events_fired[-1] == "unlock"
    leak_after(judged(bench, geo, record), "unlock")


def test_activation_fails_the_leaky_build(
    bench: BenchSession, geo: GeoDatabase, pcaps: Gateway
) -> None:
    phone, virtual = parts(bench, 2)
    pinned = Phone(dataclasses.replace(phone.device, unlock_pin="1470"), bench.server)
    record = run_activation_cycle(pinned, pcaps, timings(bench), 1)
    assert record.kind == "activation"
    assert names(record)[2:10] == [
        "factory_reset", "offline", "device", "boot_completed", "provisioned",
        "network_attached", "pin_restored", "settle_done",
    ]  # fmt: skip
    virtual.wait_idle()
    assert virtual.events_fired.count("activation") == 1 and virtual.state.pin == "1470"
    leak_after(judged(bench, geo, record), "provisioned", "network attached")


def test_idle_sends_nothing_and_passes(
    bench: BenchSession, geo: GeoDatabase, pcaps: Gateway
) -> None:
    phone, virtual = parts(bench, 2)
    virtual.wait_idle()
    record = run_idle_cycle(phone, pcaps, timings(bench), 1)
    assert names(record)[2:4] == ["screen_off", "idle_done"] and not phone.is_screen_on()
    result = judged(bench, geo, record)
    assert result.verdict.outcome == "pass", result.summary()
