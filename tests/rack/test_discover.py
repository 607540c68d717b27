"""`bench discover` against the virtual rack's real adb server, and the skeleton it writes."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from benches.cli.main import main
from benches.inventory import load_manifest, load_rack
from benches.inventory.errors import InventoryError
from benches.pytestplugin.bench import open_bench
from benches.rack.discovery import DiscoveredPhone, discover_phone, render_rack, split_usable
from benches.rack.identity.harvest import harvest_identity
from benches.rack.identity.model import HarvestedIdentity
from benches.rack.session import BenchSession
from benches.sim.network.client import PhoneNetwork
from benches.sim.phone.shell import PhoneShell
from benches.sim.phone.state import PhoneState
from benches.sim.phone.telephony import telephony_commands
from tests.support.rackfiles import (
    FIXED,
    SHIPPED_RACK,
    relocated_rack,
    virtual_bench,
    with_faults,
)

ADB_PORT = 5192
NOBODY_PORT = 5193  # in this suite's range; nothing listens there
OEM_SHIFT, OEM_ADB_PORT = 52, 5195  # the rack whose SIM7P0002 runs an OEM iphonesubinfo
L12_SHIFT, L12_ADB_PORT = 54, 5196  # the rack whose SIM7P0001 runs Android 12L (SDK 32)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    with virtual_bench(tmp_path_factory.mktemp("discover-rack"), 53, ADB_PORT, FIXED) as session:
        yield session


def filled_in(path: Path) -> Path:
    """The skeleton as a person leaves it: the bench's own coordinates put in."""
    text = path.read_text()
    assert "location: {lat: 0.0, lon: 0.0, radius_km: 50}" in text
    path.write_text(text.replace("lat: 0.0, lon: 0.0", "lat: 60.17, lon: 24.94"))
    return path


def discover(*args: str) -> int:
    return main(["discover", "--adb", f"127.0.0.1:{ADB_PORT}", *args])


@pytest.mark.live
def test_discover_writes_a_rack_that_loads_with_the_phones_identities(
    session: BenchSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "devices.yaml"
    assert discover("--output", str(output)) == 0
    with pytest.raises(InventoryError, match="placeholder `bench discover` writes"):
        load_rack(output)
    rack = load_rack(filled_in(output))
    assert rack.bench.adb.port == ADB_PORT and rack.virtual is None
    assert {device.serial for device in rack.devices} == {d.serial for d in session.rack.devices}
    for original in session.rack.devices:
        found = rack.device(original.serial)
        assert found.identity == original.identity
        assert found.adb_connect == original.adb_connect
        assert found.model == original.model
        assert found.network.mac == original.identity.wifi_mac
        assert found.network.ipv4 and found.network.ipv4.startswith("192.0.2.")  # placeholder
    text = output.read_text()
    assert text.count("# TODO") >= 2 + len(rack.devices)
    # The shipped virtual rack mixes releases: each phone was read with its own SDK's codes.
    for release in ("# Android 10 (SDK 29)", "# Android 15 (SDK 35)", "# Android 11 (SDK 30)"):
        assert release in text
    out, err = capsys.readouterr()
    assert "127.53.1.1:5555: reading its identity" in err
    assert f"wrote {output}: 3 phones" in out
    assert "will not load before bench.location holds the bench's own coordinates" in out
    for device in session.rack.devices:  # the terminal shows identifiers masked only
        identity = device.identity
        for raw in (*identity.imei, identity.iccid, identity.imsi, identity.wifi_mac):
            assert raw and raw not in out + err
    assert "3520…452, 3520…460" in out


@pytest.mark.live
def test_discover_refuses_to_overwrite_without_force(
    session: BenchSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "devices.yaml"
    output.write_text("mine\n")
    assert discover("--output", str(output)) == 2
    assert output.read_text() == "mine\n"
    assert f"bench: error: {output} exists: pass --force to overwrite it" in capsys.readouterr().err
    assert discover("--output", str(output), "--force") == 0
    assert len(load_rack(filled_in(output)).devices) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["devices.yaml"]  # no draft left behind


@pytest.mark.live
def test_discover_leaves_out_an_oem_build_and_says_which_call_answered_what(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devices = with_faults(
        relocated_rack(tmp_path, OEM_SHIFT, OEM_ADB_PORT), "{serial: SIM7P0002, kind: oem_subinfo}"
    )
    output = tmp_path / "discovered.yaml"
    session = open_bench(load_rack(devices), load_manifest(FIXED), tmp_path)
    try:
        adb = f"127.0.0.1:{OEM_ADB_PORT}"
        assert main(["discover", "--adb", adb, "--output", str(output)]) == 1  # some left out
    finally:
        session.close()
    rack = load_rack(filled_in(output))
    assert {device.serial for device in rack.devices} == {"SIM7P0001", "SIM7P0003"}
    out, err = capsys.readouterr()
    (line,) = [line for line in err.splitlines() if f"left out: 127.{OEM_SHIFT}.1.2:5555" in line]
    assert (
        "`service call iphonesubinfo 4 i32 0 s16 com.android.shell i32 -1` answered 3520…701 "
        "(16 characters), which is no IMEI: this build's iphonesubinfo does not have AOSP's "
        "SDK 35 layout (an OEM build?), and the bench does not guess other codes: declare the "
        "phone's IMEIs in devices.yaml"
    ) in line
    assert "352098100123478" not in out + err
    assert line.removeprefix("bench discover: ") in " ".join(output.read_text().split())


@pytest.mark.live
def test_discover_reads_android_11_and_12l_phones_imeis_through_the_phone_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devices = with_faults(
        relocated_rack(tmp_path, L12_SHIFT, L12_ADB_PORT),
        "{serial: SIM7P0001, kind: android_release, sdk: 32}",
    )
    output = tmp_path / "discovered.yaml"
    session = open_bench(load_rack(devices), load_manifest(FIXED), tmp_path)
    try:
        declared = session.rack.device("SIM7P0001").identity
        harvested = harvest_identity(session.phones["SIM7P0001"])  # over the real adb server
        android_11 = harvest_identity(session.phones["SIM7P0003"])  # the shipped rack's SDK 30
        adb = f"127.0.0.1:{L12_ADB_PORT}"
        assert main(["discover", "--adb", adb, "--output", str(output)]) == 0
    finally:
        session.close()
    assert (harvested.sdk, harvested.imei, harvested.missing) == (32, declared.imei, {})
    assert harvested.sources["imei[0]"] == (
        "service call phone 150 i32 0 s16 com.android.shell i32 -1"  # getImeiForSlot on 12L
    )
    assert (android_11.sdk, android_11.missing) == (30, {})
    assert android_11.imei == session.rack.device("SIM7P0003").identity.imei
    assert android_11.sources["imei[0]"] == (
        "service call phone 154 i32 0 s16 com.android.shell i32 -1"  # getImeiForSlot on 11
    )
    rack = load_rack(filled_in(output))
    assert rack.device("SIM7P0001").identity == declared
    assert {device.serial for device in rack.devices} == {"SIM7P0001", "SIM7P0002", "SIM7P0003"}
    text = output.read_text()
    for release in ("# Android 12L (SDK 32)", "# Android 15 (SDK 35)", "# Android 11 (SDK 30)"):
        assert release in text
    out, err = capsys.readouterr()
    assert not [raw for raw in declared.imei if raw in out + err]


def test_no_adb_server_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "devices.yaml"
    assert main(["discover", "--adb", f"127.0.0.1:{NOBODY_PORT}", "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bench: error: no adb server answers at 127.0.0.1:{NOBODY_PORT}")
    assert err.count("\n") == 1 and not output.exists()


def test_a_bad_adb_address_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "--adb", "localhost"]) == 2
    assert capsys.readouterr().err == "bench: error: --adb: localhost must be host:port\n"


def phone(adb_serial: str, imei: str, ipv4: str | None = None, **values: str) -> DiscoveredPhone:
    identity = HarvestedIdentity(
        imei=(imei,),
        iccid=values.get("iccid"),
        imsi=values.get("imsi"),
        serial=values.get("serial"),
        wifi_mac=values.get("wifi_mac"),
        sources={},
        missing={"iccid": "`service call iphonesubinfo 10 s16 com.android.shell` returned null"},
        sdk=33,
    )
    return DiscoveredPhone(adb_serial, values.get("model", "Pixel 7"), identity, ipv4)


def test_the_skeleton_handles_usb_phones_placeholders_and_repeats(tmp_path: Path) -> None:
    phones = [
        phone("R58M12ABCDE", "352098100123452", "192.0.2.1", iccid="8935805100000000011F"),
        phone("R58M12ABCDF", "352098100123478", serial="HW 1", model='Pixel "7"'),
        phone("R58M12ABCDG", "352098100123478"),  # the same IMEI as the phone before
        phone("R58M12ABCDH", "352098100123453"),  # fails Luhn
    ]
    usable, left_out = split_usable(phones)
    assert [p.adb_serial for p in usable] == ["R58M12ABCDE", "R58M12ABCDF"]
    assert [why for _, why in left_out] == [
        "it reports 3520…478, as R5…F does",
        "its IMEI 3520…453 fails the Luhn check devices.yaml requires",
    ]
    path = tmp_path / "devices.yaml"
    path.write_text(render_rack(usable, "127.0.0.1", 5037, ["left out: R5…G"]))
    rack = load_rack(filled_in(path))
    first, second = rack.devices
    assert first.adb_connect is None and first.identity.iccid == "8935805100000000011"
    assert first.network.ipv4 == "192.0.2.1"
    assert second.network.ipv4 == "192.0.2.2"  # a placeholder never takes a phone's own address
    assert second.model == 'Pixel "7"' and second.identity.serial is None
    text = path.read_text()
    assert "# TODO serial: devices.yaml cannot hold what the phone reported" in text
    assert "# Android 13 (SDK 33)" in text and "# left out: R5…G" in text


def test_an_meid_is_written_as_a_todo_never_as_an_imei(tmp_path: Path) -> None:
    dual = phone("R58M12ABCDE", "352098100123460")
    cdma = DiscoveredPhone(
        dual.adb_serial, dual.model, replace(dual.identity, meid=("A0000012345678",)), None
    )
    path = tmp_path / "devices.yaml"
    path.write_text(render_rack([cdma], "127.0.0.1", 5037))
    (device,) = load_rack(filled_in(path)).devices
    assert device.identity.imei == ("352098100123460",)
    assert '# TODO meid "A0000012345678": a CDMA device id the phone reports' in path.read_text()


WLAN0 = """\
30: wlan0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 3000
    inet 192.168.50.23/24 brd 192.168.50.255 scope global wlan0
       valid_lft forever preferred_lft forever
"""


class ShellPhone:
    serial = "SIM7P0001"

    def __init__(self, shell: PhoneShell) -> None:
        self._shell = shell

    def shell(self, args: list[str]) -> str:
        return self._shell.run(shlex.join(args)).output.decode().rstrip()


def test_a_phone_s_wlan0_address_and_model_are_read() -> None:
    identity = load_rack(SHIPPED_RACK).device("SIM7P0001").identity
    props = {"ro.serialno": "SIM7P0001", "ro.product.model": "TA-1046"}
    state = PhoneState(props={**props, "ro.build.version.release": "10"})
    commands = telephony_commands(lambda: identity, 29)
    commands["ip"] = lambda args: (WLAN0, 0) if args == ["-4", "addr", "show", "wlan0"] else ("", 1)
    network = PhoneNetwork("127.53.2.240", "127.53.53.254", timeout=0.2)  # never used here
    shell = ShellPhone(PhoneShell(state, network, lambda reason: None, extra=commands))
    found = discover_phone(shell, "0123456789ABCDEF")
    assert (found.ipv4, found.model, found.adb_connect) == ("192.168.50.23", "TA-1046", None)
    assert found.identity.imei == identity.imei


@pytest.mark.live
def test_discover_force_replaces_a_link_at_the_output_and_leaves_its_target(
    session: BenchSession, tmp_path: Path
) -> None:
    """Root's `bench discover --force` used to write through a link left at --output."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$hash\n")
    output = tmp_path / "devices.yaml"
    output.symlink_to(secret)
    assert discover("--output", str(output)) == 2  # a link is something there: no --force
    assert discover("--output", str(output), "--force") == 0
    assert secret.read_text() == "root:$6$hash\n"
    assert not output.is_symlink() and len(load_rack(filled_in(output)).devices) == 3
