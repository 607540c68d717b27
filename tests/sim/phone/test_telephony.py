"""The virtual phone's own iphonesubinfo table, against AOSP's facts and against the bench's table.

The simulator's table is written from AOSP's IPhoneSubInfo.aidl, independently of
the bench's (benches/rack/identity/iphonesubinfo.py), so a wrong code in the bench
fails here instead of agreeing with itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.inventory import load_manifest
from benches.inventory.models import Identity
from benches.rack.identity import iphonesubinfo as bench
from benches.rack.identity import itelephony as bench_phone
from benches.rack.identity.parcel import ServiceError, UnreadableReply, parse_string_reply
from benches.sim.phone import iphonesubinfo as sim_table
from benches.sim.phone import itelephony as sim_phone_table
from benches.sim.phone import telephony
from benches.sim.phone.handset import VirtualPhone
from benches.sim.phone.iphonesubinfo import METHODS_BY_SDK, VENDOR_METHOD, methods_for
from benches.sim.phone.itelephony import PHONE_METHODS_BY_SDK, phone_methods_for
from benches.sim.phone.telephony import props_sdk, telephony_commands
from tests.support.lifecycle_rig import FAST, RESOLVER, device, fault
from tests.support.rackfiles import FIXED

IDENTITY = Identity(
    imei=("352098100123452", "352098100123460"),
    iccid="89358051000000000111",
    imsi="244051000000001",
    serial="SIM7P0001",
)
SHELL = ["s16", "com.android.shell"]
NULL = ["i32", "-1"]  # a null String, as Parcel.writeString(null) writes it


def aosp_code(sdk: int, method: str) -> int | None:
    """The simulator's code for `method` on this SDK."""
    return next((code for code, m in METHODS_BY_SDK[sdk].items() if m.name == method), None)


def call(sdk: int, code: int, *args: str) -> str:
    output, status = telephony_commands(lambda: IDENTITY, sdk)["service"](
        ["call", "iphonesubinfo", str(code), *args]
    )
    assert status == 0
    return output


@pytest.mark.parametrize("sdk", sorted(bench.CODES_BY_SDK))
def test_the_bench_s_codes_are_the_ones_aosp_gives_row_by_row(sdk: int) -> None:
    row = bench.CODES_BY_SDK[sdk]
    assert {
        "getDeviceId": bench.GET_DEVICE_ID,
        "getDeviceIdForPhone": row.device_id_for_phone,
        "getSubscriberId": row.subscriber_id,
        "getIccSerialNumber": row.icc_serial_number,
    } == {
        "getDeviceId": aosp_code(sdk, "getDeviceId"),
        "getDeviceIdForPhone": aosp_code(sdk, "getDeviceIdForPhone"),
        "getSubscriberId": aosp_code(sdk, "getSubscriberId"),
        "getIccSerialNumber": aosp_code(sdk, "getIccSerialNumber"),
    }
    # And the bench sends a feature id exactly where the interface reads one.
    for_phone = METHODS_BY_SDK[sdk][row.device_id_for_phone]
    assert row.feature_id == ("callingFeatureId" in for_phone.parameters)


@pytest.mark.parametrize("sdk", sorted(bench.CODES_BY_SDK))
def test_each_call_the_bench_builds_is_answered_by_the_simulator_s_table(sdk: int) -> None:
    row = bench.CODES_BY_SDK[sdk]
    calls = {
        "imei[0]": bench.imei_call(row, 0),
        "imei[1]": bench.imei_call(row, 1),
        "imei": bench.default_imei_call(),
        "imsi": bench.imsi_call(row),
        "iccid": bench.iccid_call(row),
    }
    answers = {name: parse_string_reply(call(sdk, *args[3:])) for name, args in calls.items()}
    assert answers == {
        "imei[0]": IDENTITY.imei[0],
        "imei[1]": IDENTITY.imei[1],
        "imei": IDENTITY.imei[0],
        "imsi": IDENTITY.imsi,
        "iccid": IDENTITY.iccid,
    }


def test_every_row_from_29_to_36_is_compared() -> None:
    assert set(range(29, 37)) == set(bench.CODES_BY_SDK) == set(METHODS_BY_SDK)


def test_the_simulator_s_table_does_not_import_the_bench_s() -> None:
    source = Path(sim_table.__file__).read_text() + Path(telephony.__file__).read_text()
    assert "benches.rack" not in source


def test_on_sdk_35_code_12_is_the_iccid_and_13_its_with_feature_twin() -> None:
    assert bench.CODES_BY_SDK[35].icc_serial_number == 12
    assert parse_string_reply(call(35, 12, *SHELL)) == IDENTITY.iccid
    assert METHODS_BY_SDK[35][13].name == "getIccSerialNumberWithFeature"
    # The twin reads a feature id too: called like getIccSerialNumber it is refused.
    with pytest.raises(ServiceError, match="ends before callingFeatureId"):
        parse_string_reply(call(35, 13, *SHELL))
    assert parse_string_reply(call(35, 13, *SHELL, *NULL)) == IDENTITY.iccid


def test_on_sdk_36_getgroupidlevel2_moved_the_iccid_to_13() -> None:
    assert METHODS_BY_SDK[36][12].name == "getGroupIdLevel2ForSubscriber"
    assert bench.CODES_BY_SDK[36].icc_serial_number == 13
    assert parse_string_reply(call(36, 13, *SHELL)) == IDENTITY.iccid
    assert parse_string_reply(call(36, 12, "i32", "1", *SHELL, *NULL)) is None


def test_android_10_has_no_with_feature_variant() -> None:
    assert parse_string_reply(call(29, 10, *SHELL)) == IDENTITY.iccid
    assert METHODS_BY_SDK[29][3].parameters == ("phoneId", "callingPackage")
    with pytest.raises(ServiceError, match="binder error"):
        parse_string_reply(call(29, 12, *SHELL))


@pytest.mark.parametrize("sdk", range(30, 37))
def test_from_android_11_getdeviceidforphone_wants_its_feature_id(sdk: int) -> None:
    without = ["i32", "0", *SHELL]
    with pytest.raises(ServiceError, match="ends before callingFeatureId"):
        parse_string_reply(call(sdk, 4, *without))
    assert parse_string_reply(call(sdk, 4, *without, *NULL)) == IDENTITY.imei[0]
    # An empty string is a String too, as a real Stub would read it.
    assert parse_string_reply(call(sdk, 4, *without, "s16", "")) == IDENTITY.imei[0]
    with pytest.raises(ServiceError, match="callingFeatureId is a String, not i32 0"):
        parse_string_reply(call(sdk, 4, *without, "i32", "0"))


@pytest.mark.parametrize("sdk", sorted(METHODS_BY_SDK))
def test_every_method_answers_its_identifier(sdk: int) -> None:
    for_phone = aosp_code(sdk, "getDeviceIdForPhone")
    assert for_phone is not None
    feature = NULL if sdk >= 30 else []
    assert parse_string_reply(call(sdk, 1, *SHELL)) == IDENTITY.imei[0]
    assert (
        parse_string_reply(call(sdk, for_phone, "i32", "1", *SHELL, *feature)) == (IDENTITY.imei[1])
    )
    assert (
        parse_string_reply(call(sdk, for_phone, "i32", "7", *SHELL, *feature)) == (IDENTITY.imei[0])
    )
    assert parse_string_reply(call(sdk, aosp_code(sdk, "getSubscriberId") or 0, *SHELL)) == (
        IDENTITY.imsi
    )


def test_an_oem_layout_shifts_every_code_from_getdeviceidforphone_on() -> None:
    aosp, oem = METHODS_BY_SDK[35], methods_for(35, oem_layout=True)
    assert (oem[4].name, oem[5].name) == (VENDOR_METHOD, "getDeviceIdForPhone")
    assert [oem[code + 1] for code in range(4, 15)] == [aosp[code] for code in range(4, 15)]
    assert [oem[code] for code in range(1, 4)] == [aosp[code] for code in range(1, 4)]
    shifted = telephony_commands(lambda: IDENTITY, 35, oem_layout=True)["service"]
    output, _ = shifted(["call", "iphonesubinfo", "4", "i32", "0", *SHELL, *NULL])
    assert parse_string_reply(output) == IDENTITY.imei[0][:14] + "01"  # an IMEISV


def test_a_cdma_phone_answers_its_meid() -> None:
    cdma = telephony_commands(lambda: IDENTITY, 30, meid="A0000012345678")["service"]
    output, _ = cdma(["call", "iphonesubinfo", "4", "i32", "0", *SHELL, *NULL])
    assert parse_string_reply(output) == "A0000012345678"
    output, _ = cdma(["call", "iphonesubinfo", "4", "i32", "1", *SHELL, *NULL])
    assert parse_string_reply(output) == IDENTITY.imei[1]


def test_the_calling_package_is_checked() -> None:
    with pytest.raises(ServiceError, match="SecurityException"):
        parse_string_reply(call(33, 1, "s16", "com.example"))


def test_from_android_13_an_argument_the_method_does_not_read_is_refused() -> None:
    # getDeviceId reads the calling package only, in every release.
    extra = [*SHELL, "s16", "feature"]
    assert parse_string_reply(call(32, 1, *extra)) == IDENTITY.imei[0]
    with pytest.raises(ServiceError, match="not fully consumed"):
        parse_string_reply(call(33, 1, *extra))


def test_a_release_the_simulator_has_no_table_for_is_refused() -> None:
    with pytest.raises(ValueError, match="no iphonesubinfo table for SDK 37"):
        telephony_commands(lambda: IDENTITY, 37)


def test_the_virtual_phones_run_sdk_29_unless_told() -> None:
    assert props_sdk({"ro.build.version.release": "10"}) == 29
    assert props_sdk({"ro.build.version.release": "16"}) == 36
    assert props_sdk({"ro.build.version.sdk": "35", "ro.build.version.release": "10"}) == 35
    assert props_sdk({}) == 29


def test_a_rack_s_android_release_and_oem_subinfo_faults_reach_the_phone() -> None:
    faults = [fault(20, "android_release", sdk=35), fault(20, "oem_subinfo")]
    handset = VirtualPhone(
        device(20), load_manifest(FIXED), RESOLVER, FAST, (60.17, 24.94), faults=faults
    )
    props = handset.state.props
    assert (props["ro.build.version.sdk"], props["ro.build.version.release"]) == ("35", "15")
    command = "service call iphonesubinfo 5 i32 0 s16 com.android.shell i32 -1"
    output = handset.shell.run(command).output.decode()
    assert parse_string_reply(output) == "352098100123452"  # getDeviceIdForPhone, moved to 5
    plain = VirtualPhone(device(21), load_manifest(FIXED), RESOLVER, FAST, (60.17, 24.94))
    assert "ro.build.version.sdk" not in plain.state.props  # Android 10 by its release
    output = plain.shell.run("service call iphonesubinfo 3 i32 0 s16 com.android.shell").output
    assert parse_string_reply(output.decode()) == "352098100123452"


# The `phone` service (ITelephony): the simulator's own table against the bench's.


def phone_call(sdk: int, code: int, *args: str, meid: str | None = None) -> str:
    output, status = telephony_commands(lambda: IDENTITY, sdk, meid=meid)["service"](
        ["call", "phone", str(code), *args]
    )
    assert status == 0
    return output


@pytest.mark.parametrize("sdk", sorted(bench_phone.CODES_BY_SDK))
def test_the_bench_s_phone_row_is_getimeiforslot_in_the_simulator_s_table(sdk: int) -> None:
    row = bench_phone.CODES_BY_SDK[sdk]
    method = phone_methods_for(sdk)[row.imei_for_slot]
    assert method.name == "getImeiForSlot"
    assert method.parameters[:2] == ("slotIndex", "callingPackage")
    assert row.feature_id == ("callingFeatureId" in method.parameters)
    for slot in (0, 1):
        args = bench_phone.imei_for_slot_call(row, slot)
        assert args[:3] == ["service", "call", "phone"]
        assert (
            parse_string_reply(phone_call(sdk, *map(int, args[3:4]), *args[4:]))
            == (IDENTITY.imei[slot])
        )


def test_only_sourced_releases_have_a_phone_row_and_each_its_own_code() -> None:
    assert bench_phone.CODES_BY_SDK.keys() == PHONE_METHODS_BY_SDK.keys() == {29, 30, 32}
    for sdk in (29, 30, 32):
        assert bench_phone.telephony_codes_for(sdk) == bench_phone.CODES_BY_SDK[sdk]
    unsourced = (None, 28, 31, 33, 34, 35, 36, 37)
    assert all(bench_phone.telephony_codes_for(sdk) is None for sdk in unsourced)
    assert phone_methods_for(29)[146].name == "getImeiForSlot"
    assert phone_methods_for(29)[145].name == "getDeviceId"  # one below: other arguments
    assert phone_methods_for(30)[154].name == "getImeiForSlot"
    assert phone_methods_for(32)[150].name == "getImeiForSlot"
    for sdk, code in ((30, 153), (32, 149)):  # added in Android 11, one below getImeiForSlot
        assert phone_methods_for(sdk)[code].name == "getDeviceIdWithFeature"
    assert phone_methods_for(30)[150].name == "isVideoTelephonyAvailable"  # 12L's code
    assert phone_methods_for(32)[146].name == "isVideoTelephonyAvailable"  # Android 10's code


@pytest.mark.parametrize("sdk, first, last", [(30, 142, 161), (32, 138, 157)])
def test_a_window_is_getters_between_enablevideocalling_and_factoryreset(
    sdk: int, first: int, last: int
) -> None:
    # enableVideoCalling (first - 1) and factoryReset (last + 1) are not listed, so a bench
    # that sends them gets an unknown transaction here instead of a changed phone.
    window = phone_methods_for(sdk)
    assert sorted(window) == list(range(first, last + 1))
    assert all(not method.name.startswith(("set", "enable")) for method in window.values())
    assert phone_call(sdk, last + 1, "i32", "1") == telephony.UNKNOWN_TRANSACTION
    assert phone_call(sdk, first - 1, "i32", "1") == telephony.UNKNOWN_TRANSACTION


@pytest.mark.parametrize("sdk, code", [(30, 154), (32, 150)])
def test_getimeiforslot_from_android_11_reads_a_feature_id_after_the_package(
    sdk: int, code: int
) -> None:
    with pytest.raises(ServiceError, match="the call ends before callingFeatureId"):
        parse_string_reply(phone_call(sdk, code, "i32", "0", *SHELL))
    assert parse_string_reply(phone_call(sdk, code, "i32", "0", *SHELL, *NULL)) == IDENTITY.imei[0]
    with_tag = phone_call(sdk, code, "i32", "1", *SHELL, "s16", "tag")
    assert parse_string_reply(with_tag) == IDENTITY.imei[1]
    # Android 10's code is a boolean getter on 11 and 12L: no String, so never an IMEI.
    with pytest.raises(UnreadableReply):
        parse_string_reply(phone_call(sdk, 146, "i32", "0"))
    # getDeviceIdWithFeature, one below, reads the package first: the slot's int is refused.
    with pytest.raises(ServiceError, match="callingPackage is a String, not i32"):
        parse_string_reply(phone_call(sdk, code - 1, "i32", "0", *SHELL, *NULL))


def test_an_oem_phone_layout_moves_getimeiforslot_up_by_one() -> None:
    aosp, oem = phone_methods_for(32), phone_methods_for(32, oem_layout=True)
    assert oem[151] == aosp[150] and oem[150].name == sim_phone_table.VENDOR_METHOD
    assert all(oem[code] == aosp[code] for code in aosp if code < 150)
    assert all(oem[code + 1] == aosp[code] for code in aosp if code >= 150)
    output, _ = telephony_commands(lambda: IDENTITY, 32, oem_phone_layout=True)["service"](
        ["call", "phone", "150", "i32", "0", *SHELL, *NULL]
    )
    assert parse_string_reply(output) == IDENTITY.imei[0][:14] + "01"  # an IMEISV: 16 digits
    assert phone_methods_for(31, oem_layout=True) == {}  # nothing sourced, nothing to shift


def test_the_simulator_s_phone_table_does_not_import_the_bench_s() -> None:
    assert "benches.rack" not in Path(sim_phone_table.__file__).read_text()


def test_getimeiforslot_reads_its_arguments_strictly_and_answers_like_android_10() -> None:
    with pytest.raises(ServiceError, match="BadParcelableException: the call ends before"):
        parse_string_reply(phone_call(29, 146, "i32", "0"))
    with pytest.raises(ServiceError, match="slotIndex is an int, not s16"):
        parse_string_reply(phone_call(29, 146, *SHELL, "i32", "0"))
    with pytest.raises(ServiceError, match="SecurityException: Package com.example"):
        parse_string_reply(phone_call(29, 146, "i32", "0", "s16", "com.example"))
    # PhoneFactory.getPhone gives null for a slot the phone does not have: no phone 0 fallback.
    assert parse_string_reply(phone_call(29, 146, "i32", "2", *SHELL)) is None
    # Phone.getImei() is the IMEI on a CDMA phone too, where getDeviceId is the MEID.
    cdma = "A0000012345678"
    assert (
        parse_string_reply(phone_call(29, 146, "i32", "0", *SHELL, meid=cdma)) == (IDENTITY.imei[0])
    )
    assert parse_string_reply(phone_call(29, 145, *SHELL, meid=cdma)) == cdma
    assert parse_string_reply(phone_call(29, 148, "i32", "0", *SHELL, meid=cdma)) == cdma
    assert parse_string_reply(phone_call(29, 147, "i32", "1")) == IDENTITY.imei[1][:8]


def test_codes_the_simulator_does_not_list_are_unknown_transactions() -> None:
    assert phone_call(29, 153, "i32", "0") == telephony.UNKNOWN_TRANSACTION  # factoryReset
    for sdk in (31, 33, 34, 35, 36):  # no ITelephony table could be sourced for these
        for code in (146, 150, 154):
            assert phone_call(sdk, code, "i32", "0", *SHELL) == telephony.UNKNOWN_TRANSACTION
