"""Which `service call iphonesubinfo` transaction reads which identifier, per Android release.

A transaction code is 1 + the method's position in
frameworks/base/telephony/java/com/android/internal/telephony/IPhoneSubInfo.aidl
(the generated Stub numbers its methods from FIRST_CALL_TRANSACTION = 1), so a
method inserted above another shifts the other's code. Per release:

| SDK | AOSP tag | getDeviceIdForPhone | getSubscriberId | getIccSerialNumber |
| --- | --- | --- | --- | --- |
| 29 | android-10.0.0_r1 | 3 | 7 | 10 |
| 30-34 | android-11.0.0_r1 ... android-14.0.0_r1 | 4 | 8 | 12 |
| 35 | android-15.0.0_r1 | 4 | 8 | 12 |
| 36 | android-16.0.0_r2 | 4 | 8 | 13 |

Sources, per row (issue 16 checked these against AOSP's IPhoneSubInfo.aidl and
PhoneSubInfoController.java; the tag files could not be opened from this
workspace, so the rows rest on the issue, corroborated by generated
IPhoneSubInfo stubs of Android 11-15 and 16 builds whose TRANSACTION_ constants
agree):

- android-10.0.0_r1: getDeviceId 1, getNaiForSubscriber 2, getDeviceIdForPhone 3,
  getImeiForSubscriber 4, getDeviceSvn 5, getDeviceSvnUsingSubId 6,
  getSubscriberId 7, getSubscriberIdForSubscriber 8, getGroupIdLevel1ForSubscriber 9,
  getIccSerialNumber 10.
- android-11.0.0_r1 to android-15.0.0_r1: the ...WithFeature variants are inserted
  (getDeviceIdWithFeature 2, getSubscriberIdWithFeature 9,
  getIccSerialNumberWithFeature 13), so getDeviceIdForPhone 4, getSubscriberId 8,
  getIccSerialNumber 12. Android 15 did NOT change this: code 13 there is
  getIccSerialNumberWithFeature, which returns the same ICCID, which is how the
  earlier table's 13 went unnoticed. Android 15 QPR builds were not checked.
- android-16.0.0_r2: getGroupIdLevel2ForSubscriber is inserted at 12, after
  getGroupIdLevel1ForSubscriber, so getIccSerialNumber is 13.

Cross-check of the methods (not of their order) against the implementation,
PhoneSubInfoController.java, in Reginer/aosp-android-jar (commit 262f6ae9,
android-NN/src/com/android/internal/telephony/; its READMEs name the tags
android-12.1.0_r5, 13.0.0_r3, 14.0.0_r2, 15.0.0_r1 and 16.0.0_r2 for SDK 32-36,
none for SDK 31, and it has no sources for SDK 29 and 30): SDK 31-36 all
implement getIccSerialNumberWithFeature and a getDeviceIdForPhone(int phoneId,
String callingPackage, String callingFeatureId); getGroupIdLevel2ForSubscriber
is implemented in SDK 36 only. This agrees with every row from 31 to 36. The
controller's method order is not the interface's, so the codes themselves rest
on the sources above. The IPhoneSubInfo.aidl of two trees itelephony.py reads
agree with the order too: Ankits-lab/frameworks_base@150a9240 (Android 11) and
rangerzhou/AOSP@c545bd34 (android-12.1.0_r4) both give getDeviceIdForPhone 4,
getSubscriberId 8 and getIccSerialNumber 12.

`getDeviceId(callingPackage)` is code 1 in every release: it reads the default
phone's device id and is the fallback when slot 0 gives nothing.

Arguments, as the generated Stub reads them (`data.readInt()`, `data.readString()`):

- callingPackage: `com.android.shell`, the package of uid 2000 that adbd's shell
  runs as; the service checks that the package belongs to the caller, and reading
  device identifiers needs READ_PRIVILEGED_PHONE_STATE, which AOSP's Shell holds.
- callingFeatureId (getDeviceIdForPhone from Android 11): null, the attribution
  tag of a caller that has none. Parcel.writeString(null) is the int32 -1, so
  `i32 -1` is byte for byte what a Java caller would send. getDeviceId,
  getSubscriberId and getIccSerialNumber take no feature id in any release.

Fallback when the SDK is not in the table, in order:

1. `ro.build.version.sdk` missing or not a number: the SDK of `ro.build.version.release`;
2. an SDK newer than the table: the newest row (methods are mostly appended);
3. an SDK older than the table: the Android 10 row (untested on a phone);
4. no SDK at all: the newest row.

A guessed row, or an OEM build that inserted a method of its own, can read the
wrong method, so every answer is checked for the shape of what was asked
before it is used, and a misfit is reported, never worked around by trying
other codes. Every method of this interface is a getter, so a wrong code reads
something else but changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE = "iphonesubinfo"
SHELL_PACKAGE = "com.android.shell"
GET_DEVICE_ID = 1  # getDeviceId(String callingPackage), stable since Android 1
NULL_STRING = ["i32", "-1"]  # Parcel.writeString(null): the length -1 and nothing else


@dataclass(frozen=True)
class SubInfoCodes:
    device_id_for_phone: int  # getDeviceIdForPhone(int phoneId, String callingPackage, ...)
    subscriber_id: int  # getSubscriberId(String callingPackage): the default subscription's IMSI
    icc_serial_number: int  # getIccSerialNumber(String callingPackage): that SIM's ICCID
    # getDeviceIdForPhone reads a String callingFeatureId after the package (Android 11+).
    feature_id: bool
    source: str  # the AOSP tag(s) the row was read from


_ANDROID_10 = SubInfoCodes(3, 7, 10, feature_id=False, source="android-10.0.0_r1")
_ANDROID_11_TO_15 = SubInfoCodes(
    4, 8, 12, feature_id=True, source="android-11.0.0_r1 ... android-15.0.0_r1"
)
_ANDROID_16 = SubInfoCodes(4, 8, 13, feature_id=True, source="android-16.0.0_r2")

CODES_BY_SDK: dict[int, SubInfoCodes] = {
    29: _ANDROID_10,
    30: _ANDROID_11_TO_15,
    31: _ANDROID_11_TO_15,
    32: _ANDROID_11_TO_15,
    33: _ANDROID_11_TO_15,
    34: _ANDROID_11_TO_15,
    35: _ANDROID_11_TO_15,
    36: _ANDROID_16,
}


def codes_for(sdk: int | None) -> SubInfoCodes:
    """The table's row for this SDK, or the documented fallback."""
    newest, oldest = max(CODES_BY_SDK), min(CODES_BY_SDK)
    if sdk is None or sdk > newest:
        return CODES_BY_SDK[newest]
    return CODES_BY_SDK[max(sdk, oldest)]


def call(code: int, *args: str) -> list[str]:
    return ["service", "call", SERVICE, str(code), *args]


def imei_call(codes: SubInfoCodes, slot: int) -> list[str]:
    feature = NULL_STRING if codes.feature_id else []
    return call(codes.device_id_for_phone, "i32", str(slot), "s16", SHELL_PACKAGE, *feature)


def default_imei_call() -> list[str]:
    return call(GET_DEVICE_ID, "s16", SHELL_PACKAGE)


def imsi_call(codes: SubInfoCodes) -> list[str]:
    return call(codes.subscriber_id, "s16", SHELL_PACKAGE)


def iccid_call(codes: SubInfoCodes) -> list[str]:
    return call(codes.icc_serial_number, "s16", SHELL_PACKAGE)
