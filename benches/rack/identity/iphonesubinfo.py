"""Which `service call iphonesubinfo` transaction reads which identifier, per Android release.

A transaction code is a method's position in IPhoneSubInfo.aidl (first method
= 1), so a method inserted above another shifts the other's code. The codes
below were read from the generated IPhoneSubInfo stubs of each release:

| SDK | Android | getDeviceIdForPhone | getSubscriberId | getIccSerialNumber |
| --- | --- | --- | --- | --- |
| 29 | 10 | 3 | 7 | 10 |
| 30-34 | 11-14 | 4 | 8 | 12 |
| 35 | 15 | 4 | 8 | 13 |

Android 11 inserted the `...WithFeature` variants (getDeviceIdWithFeature at 2,
getSubscriberIdWithFeature at 9, ...); Android 15 inserted
getGroupIdLevel2ForSubscriber at 12.

`getDeviceId(callingPackage)` is code 1 in every release: it reads the default
phone's IMEI and is the fallback when slot 0 gives nothing.

The calling package is `com.android.shell` (uid 2000, which adbd's shell runs
as): the service checks that the package belongs to the caller, and since
Android 10 reading device identifiers needs READ_PRIVILEGED_PHONE_STATE, which
the Shell package holds. The optional callingFeatureId (Android 11+) is left
out: reading past the end of a Parcel gives null.

Fallback when the SDK is not in the table, in order:

1. `ro.build.version.sdk` missing or not a number: the SDK of `ro.build.version.release`;
2. an SDK newer than the table: the newest row (methods are mostly appended);
3. an SDK older than the table: the Android 10 row (Android 9's stubs have the
   same codes for these methods; untested on a phone);
4. no SDK at all: the newest row.

A guessed row can read the wrong method, so every answer is checked for the
shape of what was asked (15 digits for an IMEI, and so on) before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE = "iphonesubinfo"
SHELL_PACKAGE = "com.android.shell"
GET_DEVICE_ID = 1  # getDeviceId(String callingPackage), stable since Android 1


@dataclass(frozen=True)
class SubInfoCodes:
    device_id_for_phone: int  # getDeviceIdForPhone(int phoneId, String callingPackage, ...)
    subscriber_id: int  # getSubscriberId(String callingPackage): the default subscription's IMSI
    icc_serial_number: int  # getIccSerialNumber(String callingPackage): that SIM's ICCID


_ANDROID_10 = SubInfoCodes(device_id_for_phone=3, subscriber_id=7, icc_serial_number=10)
_ANDROID_11_TO_14 = SubInfoCodes(device_id_for_phone=4, subscriber_id=8, icc_serial_number=12)
_ANDROID_15 = SubInfoCodes(device_id_for_phone=4, subscriber_id=8, icc_serial_number=13)

CODES_BY_SDK: dict[int, SubInfoCodes] = {
    29: _ANDROID_10,
    30: _ANDROID_11_TO_14,
    31: _ANDROID_11_TO_14,
    32: _ANDROID_11_TO_14,
    33: _ANDROID_11_TO_14,
    34: _ANDROID_11_TO_14,
    35: _ANDROID_15,
}

# ro.build.version.release → SDK, for builds that lack ro.build.version.sdk.
SDK_BY_RELEASE = {"10": 29, "11": 30, "12": 31, "12L": 32, "13": 33, "14": 34, "15": 35}


def android_sdk(sdk_prop: str, release_prop: str) -> int | None:
    """The phone's API level from its `ro.build.version.sdk`, else from its release."""
    sdk = sdk_prop.strip()
    if sdk.isdigit() and sdk.isascii():
        return int(sdk)
    release = release_prop.strip()
    return SDK_BY_RELEASE.get(release) or SDK_BY_RELEASE.get(release.split(".")[0])


def codes_for(sdk: int | None) -> SubInfoCodes:
    """The table's row for this SDK, or the documented fallback."""
    newest, oldest = max(CODES_BY_SDK), min(CODES_BY_SDK)
    if sdk is None or sdk > newest:
        return CODES_BY_SDK[newest]
    return CODES_BY_SDK[max(sdk, oldest)]


def call(code: int, *args: str) -> list[str]:
    return ["service", "call", SERVICE, str(code), *args]


def imei_call(codes: SubInfoCodes, slot: int) -> list[str]:
    return call(codes.device_id_for_phone, "i32", str(slot), "s16", SHELL_PACKAGE)


def default_imei_call() -> list[str]:
    return call(GET_DEVICE_ID, "s16", SHELL_PACKAGE)


def imsi_call(codes: SubInfoCodes) -> list[str]:
    return call(codes.subscriber_id, "s16", SHELL_PACKAGE)


def iccid_call(codes: SubInfoCodes) -> list[str]:
    return call(codes.icc_serial_number, "s16", SHELL_PACKAGE)
