"""The virtual phone's own iphonesubinfo table, against AOSP's facts and against the bench's table.

The simulator's table is written from AOSP's IPhoneSubInfo.aidl, independently of
the bench's (benches/rack/identity/iphonesubinfo.py), so a wrong code in the bench
fails here instead of agreeing with itself.
"""

from __future__ import annotations

import pytest

from benches.inventory.models import Identity
from benches.rack.identity import iphonesubinfo as bench
from benches.rack.identity.parcel import ServiceError, parse_string_reply
from benches.sim.phone.iphonesubinfo import METHODS_BY_SDK
from benches.sim.phone.telephony import props_sdk, telephony_commands

IDENTITY = Identity(
    imei=("352098100123452", "352098100123460"),
    iccid="89358051000000000111",
    imsi="244051000000001",
    serial="SIM7P0001",
)
SHELL = ["s16", "com.android.shell"]


def aosp_code(sdk: int, method: str) -> int | None:
    """The simulator's code for `method` on this SDK."""
    return next((code for code, m in METHODS_BY_SDK[sdk].items() if m.name == method), None)


def call(sdk: int, code: int, *args: str) -> str:
    output, status = telephony_commands(lambda: IDENTITY, sdk)["service"](
        ["call", "iphonesubinfo", str(code), *args]
    )
    assert status == 0
    return output


@pytest.mark.parametrize(
    "sdk",
    [
        pytest.param(sdk, marks=pytest.mark.xfail(strict=True, reason="issue 16"))
        if sdk == 35
        else sdk
        for sdk in sorted(bench.CODES_BY_SDK)
    ],
)
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


def test_rows_29_to_34_are_compared() -> None:
    assert set(range(29, 35)) <= set(bench.CODES_BY_SDK) <= set(METHODS_BY_SDK)


def test_on_sdk_35_code_12_is_the_iccid_and_13_its_with_feature_twin() -> None:
    assert parse_string_reply(call(35, 12, *SHELL)) == IDENTITY.iccid
    assert parse_string_reply(call(35, 13, *SHELL)) == IDENTITY.iccid
    assert METHODS_BY_SDK[35][13].name == "getIccSerialNumberWithFeature"


def test_android_10_has_no_with_feature_variant() -> None:
    assert parse_string_reply(call(29, 10, *SHELL)) == IDENTITY.iccid
    with pytest.raises(ServiceError, match="binder error"):
        parse_string_reply(call(29, 13, *SHELL))


@pytest.mark.parametrize("sdk", sorted(METHODS_BY_SDK))
def test_every_method_answers_its_identifier(sdk: int) -> None:
    for_phone = aosp_code(sdk, "getDeviceIdForPhone")
    assert for_phone is not None
    assert parse_string_reply(call(sdk, 1, *SHELL)) == IDENTITY.imei[0]
    assert parse_string_reply(call(sdk, for_phone, "i32", "1", *SHELL)) == IDENTITY.imei[1]
    assert parse_string_reply(call(sdk, for_phone, "i32", "7", *SHELL)) == IDENTITY.imei[0]
    assert parse_string_reply(call(sdk, aosp_code(sdk, "getSubscriberId") or 0, *SHELL)) == (
        IDENTITY.imsi
    )


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
    with pytest.raises(ValueError, match="no iphonesubinfo table for SDK 36"):
        telephony_commands(lambda: IDENTITY, 36)


def test_the_virtual_phones_run_sdk_29() -> None:
    assert props_sdk({"ro.build.version.release": "10"}) == 29
    assert props_sdk({"ro.build.version.sdk": "35", "ro.build.version.release": "10"}) == 35
    assert props_sdk({}) == 29
