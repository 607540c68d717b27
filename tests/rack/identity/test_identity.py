"""Identity harvest and its cross-check: through the virtual phone's shell, and over real adb."""

from __future__ import annotations

import logging
import shlex
import struct
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from benches.inventory.models import Identity
from benches.rack.identity.check import IdentityMismatch, check_identity
from benches.rack.identity.harvest import HarvestError, harvest_identity
from benches.rack.identity.iphonesubinfo import CODES_BY_SDK
from benches.rack.identity.model import HarvestedIdentity
from benches.rack.session import BenchSession
from benches.sim.network.client import PhoneNetwork
from benches.sim.phone.parcel import dump, exception_reply, string_reply
from benches.sim.phone.shell import Command, PhoneShell
from benches.sim.phone.state import PhoneState
from benches.sim.phone.telephony import telephony_commands
from tests.support.rackfiles import FIXED, virtual_bench

DUAL_SIM = Identity(
    imei=("352098100123452", "352098100123460"),
    iccid="89358051000000000111",
    imsi="244051000000001",
    serial="SIM7P0001",
    wifi_mac="02:00:00:00:02:01",
)


class ShellPhone:
    """A virtual phone's shell reached without adb, given the line adbutils would send."""

    serial = "SIM7P0001"

    def __init__(self, shell: PhoneShell) -> None:
        self._shell = shell

    def shell(self, args: list[str]) -> str:
        return self._shell.run(shlex.join(args)).output.decode().rstrip()


def phone(
    identity: Callable[[], Identity],
    sdk: int = 29,
    props: dict[str, str] | None = None,
    extra: dict[str, Command] | None = None,
) -> ShellPhone:
    state = PhoneState(props={"ro.serialno": "SIM7P0001", "ro.build.version.sdk": str(sdk)})
    state.props.update(props or {})
    network = PhoneNetwork("127.51.2.240", "127.51.53.254", timeout=0.2)  # never used here
    commands = {**telephony_commands(identity, sdk), **(extra or {})}
    return ShellPhone(PhoneShell(state, network, lambda reason: None, extra=commands))


@pytest.mark.parametrize("sdk", sorted(CODES_BY_SDK))
def test_every_sdk_in_the_table_reads_back_the_phone_s_identity(sdk: int) -> None:
    harvested = harvest_identity(phone(lambda: DUAL_SIM, sdk))
    assert harvested.imei == DUAL_SIM.imei
    assert (harvested.iccid, harvested.imsi) == (DUAL_SIM.iccid, DUAL_SIM.imsi)
    assert (harvested.serial, harvested.wifi_mac) == ("SIM7P0001", "02:00:00:00:02:01")
    code = CODES_BY_SDK[sdk].device_id_for_phone
    feature = " i32 -1" if sdk >= 30 else ""  # a null callingFeatureId from Android 11
    by_phone_service = {  # getImeiForSlot: only where ITelephony.aidl could be sourced
        29: "service call phone 146 i32 1 s16 com.android.shell",
        30: "service call phone 154 i32 1 s16 com.android.shell i32 -1",
        32: "service call phone 150 i32 1 s16 com.android.shell i32 -1",
    }
    assert harvested.sources["imei[1]"] == by_phone_service.get(
        sdk, f"service call iphonesubinfo {code} i32 1 s16 com.android.shell{feature}"
    )
    assert harvested.sdk == sdk and not harvested.missing
    check_identity(DUAL_SIM, harvested, "SIM7P0001")


def test_the_multisim_config_limits_the_slots_read() -> None:
    single = phone(lambda: DUAL_SIM, props={"persist.radio.multisim.config": "ssss"})
    harvested = harvest_identity(single)
    assert harvested.imei == DUAL_SIM.imei[:1]
    with pytest.raises(IdentityMismatch, match="declares IMEI 3520…460, which the phone does not"):
        check_identity(DUAL_SIM, harvested, "SIM7P0001")


def test_a_19_digit_iccid_comes_back_padded_and_still_matches() -> None:
    identity = replace(DUAL_SIM, iccid="8935805100000000011")
    harvested = harvest_identity(phone(lambda: identity))
    assert harvested.iccid == "8935805100000000011F"
    check_identity(identity, harvested, "SIM7P0001")


def test_no_sim_is_a_warning_not_a_mismatch(caplog: pytest.LogCaptureFixture) -> None:
    no_sim = replace(DUAL_SIM, iccid=None, imsi=None)
    harvested = harvest_identity(phone(lambda: no_sim))
    assert (harvested.iccid, harvested.imsi) == (None, None)
    assert "returned null" in harvested.missing["iccid"]
    with caplog.at_level(logging.WARNING, logger="benches.rack.identity.check"):
        check_identity(DUAL_SIM, harvested, "SIM7P0001")
    assert "declares ICCID 8935…111, but the phone reports none" in caplog.text
    assert "89358051000000000111" not in caplog.text


def test_a_table_row_that_misses_the_build_falls_back_and_says_so() -> None:
    # The phone answers Android 10's codes but claims SDK 35: slot reads hit other methods.
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 29, {"ro.build.version.sdk": "35"}))
    assert harvested.imei == DUAL_SIM.imei[:1]  # getDeviceId, code 1 in every release
    assert harvested.sources["imei[0]"] == "service call iphonesubinfo 1 s16 com.android.shell"
    assert "binder error" in harvested.missing["iccid"]


def test_unreadable_output_names_the_phone_and_the_command() -> None:
    garbage = phone(lambda: DUAL_SIM, extra={"service": lambda args: ("Segmentation fault\n", 0)})
    with pytest.raises(HarvestError) as caught:
        harvest_identity(garbage)
    message = str(caught.value)
    assert message.startswith("SI…1: `service call iphonesubinfo 3 i32 0 s16 com.android")
    assert "SIM7P0001" not in message  # the serial is masked like every identifier
    assert "unreadable" in message and "\n" not in message


def test_sdk_35_reads_the_iccid_with_code_12_and_the_imei_with_a_feature_id() -> None:
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 35))
    assert harvested.sources["iccid"] == "service call iphonesubinfo 12 s16 com.android.shell"
    assert harvested.sources["imei[0]"] == (
        "service call iphonesubinfo 4 i32 0 s16 com.android.shell i32 -1"
    )
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing


def test_an_meid_is_reported_as_one_never_taken_for_an_imei() -> None:
    # Android 12 (SDK 31) has no `phone` row: the IMEIs come from iphonesubinfo only.
    cdma = telephony_commands(lambda: DUAL_SIM, 31, meid="A0000012345678")
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 31, extra=cdma))
    assert harvested.meid == ("A0000012345678",)
    assert harvested.imei == DUAL_SIM.imei[1:]  # slot 1 is a GSM phone
    assert harvested.sources["meid[0]"].startswith("service call iphonesubinfo 4 i32 0 ")
    single = telephony_commands(
        lambda: replace(DUAL_SIM, imei=DUAL_SIM.imei[:1]), 31, meid="A0000012345678"
    )
    only_cdma = harvest_identity(
        phone(lambda: DUAL_SIM, 31, {"persist.radio.multisim.config": "ssss"}, extra=single)
    )
    assert (only_cdma.imei, only_cdma.meid) == ((), ("A0000012345678",))
    reason = only_cdma.missing["imei"]
    assert "answered the MEID A000…678 (a CDMA phone's device id), not an IMEI" in reason
    assert reason.endswith("declare the phone's IMEIs in devices.yaml")
    assert "A0000012345678" not in reason


def test_an_oem_layout_is_reported_and_no_other_code_is_guessed() -> None:
    oem = telephony_commands(lambda: DUAL_SIM, 35, oem_layout=True)
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 35, extra=oem))
    # Code 4 is the vendor's IMEISV getter there: 16 digits, no IMEI, and not code 1's IMEI.
    assert harvested.imei == () and "imei[0]" not in harvested.sources
    reason = harvested.missing["imei"]
    assert reason == (
        "`service call iphonesubinfo 4 i32 0 s16 com.android.shell i32 -1` answered 3520…501 "
        "(16 characters), which is no IMEI: this build's iphonesubinfo does not have AOSP's "
        "SDK 35 layout (an OEM build?), and the bench does not guess other codes: declare "
        "the phone's IMEIs in devices.yaml"
    )
    # Codes 8 and 12 hit getDeviceSvnUsingSubId and getSubscriberIdForSubscriber, which read
    # an int first: refused, and said so, with the value asked for in devices.yaml.
    assert "answered BadParcelableException" in harvested.missing["imsi"]
    assert harvested.missing["iccid"].endswith("declare the phone's ICCID in devices.yaml")


def test_a_stripped_permission_says_which_call_and_what_it_answered() -> None:
    def refusing(args: list[str]) -> tuple[str, int]:
        message = "getDeviceId: The user 2000 does not meet the requirements"
        return dump(exception_reply(-1, message)), 0

    harvested = harvest_identity(phone(lambda: DUAL_SIM, 33, extra={"service": refusing}))
    assert harvested.imei == () and harvested.iccid is None and harvested.imsi is None
    imei = harvested.missing["imei"]
    assert imei.startswith(
        "`service call iphonesubinfo 4 i32 0 s16 com.android.shell i32 -1` answered "
        "SecurityException: getDeviceId: The user 2000 does not meet the requirements: "
    )
    assert "`service call iphonesubinfo 1 s16 com.android.shell` answered Security" in imei
    assert harvested.missing["iccid"] == (
        "`service call iphonesubinfo 12 s16 com.android.shell` answered SecurityException: "
        "getDeviceId: The user 2000 does not meet the requirements: declare the phone's "
        "ICCID in devices.yaml"
    )


def test_the_phone_s_own_imei_is_read_at_every_call() -> None:
    reported = [DUAL_SIM]
    target = phone(lambda: reported[0])
    reported[0] = replace(DUAL_SIM, imei=("352098100123999", "352098100123460"))
    with pytest.raises(IdentityMismatch) as caught:
        check_identity(DUAL_SIM, harvest_identity(target), "SIM7P0001")
    assert str(caught.value) == (
        "SIM7P0001: devices.yaml declares IMEI 3520…452, the phone reports 3520…999: "
        "fix devices.yaml or the rack's cabling"
    )


def harvested(**changes: object) -> HarvestedIdentity:
    values: dict[str, object] = {
        "imei": DUAL_SIM.imei,
        "iccid": DUAL_SIM.iccid,
        "imsi": DUAL_SIM.imsi,
        "serial": DUAL_SIM.serial,
        "wifi_mac": DUAL_SIM.wifi_mac,
        "sources": {},
    }
    values.update(changes)
    return HarvestedIdentity(**values)  # type: ignore[arg-type]


def mismatches(declared: Identity, reported: HarvestedIdentity) -> list[str]:
    try:
        check_identity(declared, reported, "SIM7P0001")
    except IdentityMismatch as error:
        assert str(error) == "\n".join(error.lines)
        return list(error.lines)
    return []


def test_values_that_differ_only_where_masked_say_so() -> None:
    (line,) = mismatches(DUAL_SIM, harvested(imsi="244051000099001"))
    assert line == (
        "SIM7P0001: devices.yaml declares IMSI 2440…001, the phone reports 2440…001 "
        "(they differ in the masked digits): fix devices.yaml or the rack's cabling"
    )


def test_an_imei_the_phone_reports_but_devices_yaml_lacks_is_a_mismatch() -> None:
    single = replace(DUAL_SIM, imei=DUAL_SIM.imei[:1])
    (line,) = mismatches(single, harvested())
    assert "the phone reports IMEI 3520…460, which devices.yaml does not declare" in line


def test_an_undeclared_iccid_is_a_mismatch_the_order_of_imeis_is_not() -> None:
    assert mismatches(DUAL_SIM, harvested(imei=DUAL_SIM.imei[::-1])) == []
    (line,) = mismatches(replace(DUAL_SIM, iccid=None), harvested())
    assert "reports ICCID 8935…111, which devices.yaml does not declare" in line


@pytest.mark.parametrize(
    "declared, reported, same",
    [
        ("8935805100000000011", "8935805100000000011f", True),  # filler nibble
        ("8935805100000000011", "89358051000000000111", True),  # + its Luhn digit
        ("89358051000000000111", "8935805100000000011", True),
        ("8935805100000000011", "89358051000000000112", False),  # not its Luhn digit
        ("89358051000000000111", "89358051000000000129", False),
    ],
)
def test_iccid_tolerances(declared: str, reported: str, same: bool) -> None:
    lines = mismatches(replace(DUAL_SIM, iccid=declared), harvested(iccid=reported))
    assert (lines == []) is same


def test_wifi_macs_compare_without_case_and_every_line_is_masked() -> None:
    assert mismatches(DUAL_SIM, harvested(wifi_mac="02:00:00:00:02:01".upper())) == []
    lines = mismatches(DUAL_SIM, harvested(serial="SIM7P0009", wifi_mac="02:00:00:00:02:09"))
    assert len(lines) == 2
    assert not any("SIM7P0009" in line or "02:00:00:00:02:09" in line for line in lines)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    workdir: Path = tmp_path_factory.mktemp("identity-rack")
    with virtual_bench(workdir, 51, 5191, FIXED) as session:
        yield session


@pytest.mark.live
def test_over_adb_each_virtual_phone_reports_its_declared_identity(session: BenchSession) -> None:
    for device in session.rack.devices:
        reported = harvest_identity(session.phones[device.serial])
        declared = device.identity
        assert reported.imei == declared.imei
        assert (reported.iccid, reported.imsi) == (declared.iccid, declared.imsi)
        assert (reported.serial, reported.wifi_mac) == (declared.serial, declared.wifi_mac)
        # The shipped rack mixes releases (virtual.faults android_release); the others
        # run Android 10, from ro.build.version.release "10".
        assert reported.sdk == {"SIM7P0002": 35, "SIM7P0003": 30}.get(device.serial, 29)
        check_identity(declared, reported, device.serial)
    assert len(session.rack.device("SIM7P0001").identity.imei) == 2


@pytest.mark.live
def test_over_adb_a_declared_imei_that_differs_is_caught(session: BenchSession) -> None:
    device = session.rack.device("SIM7P0002")
    reported = harvest_identity(session.phones[device.serial])
    wrong = replace(device.identity, imei=("352098100993458",))
    with pytest.raises(IdentityMismatch) as caught:
        check_identity(wrong, reported, device.serial)
    assert str(caught.value) == (
        "SIM7P0002: devices.yaml declares IMEI 3520…458, the phone reports 3520…478: "
        "fix devices.yaml or the rack's cabling"
    )


def recording(
    sdk: int, log: list[str], phone_answer: str | None = None, **options: bool
) -> dict[str, Command]:
    """The virtual phone's `service`, logging each call; `phone_answer` replaces the phone's.

    `options` go to telephony_commands (oem_layout, oem_phone_layout).
    """
    own = telephony_commands(lambda: DUAL_SIM, sdk, **options)["service"]

    def service(args: list[str]) -> tuple[str, int]:
        log.append(" ".join(args))
        if phone_answer is not None and args[1:2] == ["phone"]:
            return phone_answer, 0
        return own(args)

    return {"service": service}


def test_on_android_10_the_imei_comes_from_the_phone_service_first() -> None:
    log: list[str] = []
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 29, extra=recording(29, log)))
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing
    assert harvested.sources["imei[0]"] == "service call phone 146 i32 0 s16 com.android.shell"
    # Slot 2 does not exist: the phone service says null, iphonesubinfo repeats slot 0: stop.
    assert log[:4] == [
        "call phone 146 i32 0 s16 com.android.shell",
        "call phone 146 i32 1 s16 com.android.shell",
        "call phone 146 i32 2 s16 com.android.shell",
        "call iphonesubinfo 3 i32 2 s16 com.android.shell",
    ]


def test_on_android_10_a_cdma_phone_s_imei_is_read_where_iphonesubinfo_gives_its_meid() -> None:
    cdma = telephony_commands(lambda: DUAL_SIM, 29, meid="A0000012345678")
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 29, extra=cdma))
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing
    assert harvested.sources["imei[0]"].startswith("service call phone 146 ")
    # Slot 2 falls back to iphonesubinfo, which reads phone 0 there: its device id, the MEID.
    assert harvested.meid == ("A0000012345678",)
    assert harvested.sources["meid[2]"].startswith("service call iphonesubinfo 3 i32 2 ")


@pytest.mark.parametrize(
    "answer",
    [
        dump(exception_reply(-1, "getImeiForSlot: The user 2000 does not meet the requirements")),
        'Result: Parcel(Error: 0xffffffb6 "Not a data message")\n',  # unknown transaction
        dump(string_reply(None)),
        dump(string_reply("")),
        dump(struct.pack("<ii", 0, 1)),  # a boolean getter's reply: an OEM layout
        dump(string_reply("35209810012345")),  # a String of another shape
        "service: Service phone does not exist\n",
    ],
    ids=["exception", "unknown", "null", "empty", "boolean", "shape", "no-service"],
)
def test_anything_but_an_imei_from_the_phone_service_falls_back_to_iphonesubinfo(
    answer: str,
) -> None:
    log: list[str] = []
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 29, extra=recording(29, log, answer)))
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing
    assert (
        harvested.sources["imei[0]"] == "service call iphonesubinfo 3 i32 0 s16 com.android.shell"
    )
    assert (
        harvested.sources["imei[1]"] == "service call iphonesubinfo 3 i32 1 s16 com.android.shell"
    )
    assert log[:2] == [
        "call phone 146 i32 0 s16 com.android.shell",
        "call iphonesubinfo 3 i32 0 s16 com.android.shell",
    ]


@pytest.mark.parametrize("sdk, code", [(30, 154), (32, 150)], ids=["android-11", "android-12L"])
def test_on_android_11_and_12l_the_imei_comes_from_the_phone_service_with_a_null_feature_id(
    sdk: int, code: int
) -> None:
    log: list[str] = []
    harvested = harvest_identity(phone(lambda: DUAL_SIM, sdk, extra=recording(sdk, log)))
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing
    assert harvested.sources["imei[0]"] == (
        f"service call phone {code} i32 0 s16 com.android.shell i32 -1"
    )
    # Slot 2 does not exist: the phone service says null, iphonesubinfo repeats slot 0: stop.
    assert log[:4] == [
        f"call phone {code} i32 0 s16 com.android.shell i32 -1",
        f"call phone {code} i32 1 s16 com.android.shell i32 -1",
        f"call phone {code} i32 2 s16 com.android.shell i32 -1",
        "call iphonesubinfo 4 i32 2 s16 com.android.shell i32 -1",
    ]


@pytest.mark.parametrize("sdk, code", [(30, 154), (32, 150)], ids=["android-11", "android-12L"])
def test_on_android_11_and_12l_a_cdma_phone_s_imei_comes_from_the_phone_service(
    sdk: int, code: int
) -> None:
    cdma = telephony_commands(lambda: DUAL_SIM, sdk, meid="A0000012345678")
    harvested = harvest_identity(phone(lambda: DUAL_SIM, sdk, extra=cdma))
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing
    assert harvested.sources["imei[0]"].startswith(f"service call phone {code} ")
    assert harvested.meid == ("A0000012345678",)


def test_on_android_12l_an_oem_phone_layout_is_never_taken_for_the_imei() -> None:
    # An OEM method above getImeiForSlot: code 150 answers the IMEISV (16 digits).
    log: list[str] = []
    extra = recording(32, log, oem_phone_layout=True)
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 32, extra=extra))
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing
    assert harvested.sources["imei[0]"] == (
        "service call iphonesubinfo 4 i32 0 s16 com.android.shell i32 -1"
    )
    assert log[:2] == [
        "call phone 150 i32 0 s16 com.android.shell i32 -1",
        "call iphonesubinfo 4 i32 0 s16 com.android.shell i32 -1",
    ]
    assert not [line for line in log if line.startswith("call phone") and " 150 " not in line]


def test_on_android_12l_an_oem_build_of_both_services_is_reported_and_nothing_guessed() -> None:
    log: list[str] = []
    extra = recording(32, log, oem_layout=True, oem_phone_layout=True)
    harvested = harvest_identity(phone(lambda: DUAL_SIM, 32, extra=extra))
    assert harvested.imei == ()
    assert harvested.missing["imei"] == (
        "`service call iphonesubinfo 4 i32 0 s16 com.android.shell i32 -1` answered "
        "3520…501 (16 characters), which is no IMEI: this build's iphonesubinfo does not "
        "have AOSP's SDK 32 layout (an OEM build?), and the bench does not guess other "
        "codes: declare the phone's IMEIs in devices.yaml"
    )
    assert [line.split(" i32")[0] for line in log if " i32 " in line][:2] == [
        "call phone 150",
        "call iphonesubinfo 4",
    ]
    assert not [line for line in log if line.startswith("call phone") and " 150 " not in line]


@pytest.mark.parametrize("sdk", [31, 33, 34, 35, 36])
def test_a_release_without_a_sourced_phone_row_never_calls_the_phone_service(sdk: int) -> None:
    log: list[str] = []
    harvested = harvest_identity(phone(lambda: DUAL_SIM, sdk, extra=recording(sdk, log)))
    assert harvested.imei == DUAL_SIM.imei and not harvested.missing
    assert log and not [line for line in log if line.startswith("call phone")]
