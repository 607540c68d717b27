"""The virtual phone's own iphonesubinfo table: which transaction code is which method.

Written from AOSP's interface, and on purpose independently of the bench's table
(benches/rack/identity/iphonesubinfo.py): the virtual phones answer as AOSP does,
so a wrong code in the bench fails against them instead of agreeing with itself.

A transaction code is 1 + the method's position in
frameworks/base/telephony/java/com/android/internal/telephony/IPhoneSubInfo.aidl
(the stub's FIRST_CALL_TRANSACTION is 1). Only the methods that return what the
bench reads are listed; any other code gets binder's "unknown transaction", so a
code that hits another method is an error here too. Each method reads its
arguments in the order the interface declares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SERVICE = "iphonesubinfo"
SHELL_PACKAGE = "com.android.shell"  # the package of uid 2000, which adb's shell runs as
INT_PARAMETERS = frozenset({"phoneId"})  # every other parameter below is a String


@dataclass(frozen=True)
class Method:
    name: str
    parameters: tuple[str, ...]  # the AIDL's parameter names, in order


GET_DEVICE_ID = Method("getDeviceId", ("callingPackage",))
GET_SUBSCRIBER_ID = Method("getSubscriberId", ("callingPackage",))
GET_ICC_SERIAL_NUMBER = Method("getIccSerialNumber", ("callingPackage",))

# android-10.0.0_r1: getDeviceId, getNaiForSubscriber, getDeviceIdForPhone,
# getImeiForSubscriber, getDeviceSvn, getDeviceSvnUsingSubId, getSubscriberId,
# getSubscriberIdForSubscriber, getGroupIdLevel1ForSubscriber, getIccSerialNumber, ...
_ANDROID_10: Mapping[int, Method] = {
    1: GET_DEVICE_ID,
    3: Method("getDeviceIdForPhone", ("phoneId", "callingPackage")),
    7: GET_SUBSCRIBER_ID,
    10: GET_ICC_SERIAL_NUMBER,
}

# android-11.0.0_r1 added a callingFeatureId to most methods and inserted the
# ...WithFeature variants: getDeviceId, getDeviceIdWithFeature, getNaiForSubscriber,
# getDeviceIdForPhone, getImeiForSubscriber, getDeviceSvn, getDeviceSvnUsingSubId,
# getSubscriberId, getSubscriberIdWithFeature, getSubscriberIdForSubscriber,
# getGroupIdLevel1ForSubscriber, getIccSerialNumber, getIccSerialNumberWithFeature, ...
# The same codes hold up to android-15.0.0_r1 (getGroupIdLevel2ForSubscriber, which
# moves getIccSerialNumber to 13, first appears in android-16.0.0_r2).
_ANDROID_11_TO_15: Mapping[int, Method] = {
    1: GET_DEVICE_ID,
    4: Method("getDeviceIdForPhone", ("phoneId", "callingPackage", "callingFeatureId")),
    8: GET_SUBSCRIBER_ID,
    12: GET_ICC_SERIAL_NUMBER,
    # Returns the same ICCID as getIccSerialNumber (PhoneSubInfoController).
    13: Method("getIccSerialNumberWithFeature", ("callingPackage", "callingFeatureId")),
}

METHODS_BY_SDK: Mapping[int, Mapping[int, Method]] = {
    29: _ANDROID_10,  # IPhoneSubInfo.aidl at android-10.0.0_r1
    30: _ANDROID_11_TO_15,  # at android-11.0.0_r1
    31: _ANDROID_11_TO_15,  # at android-12.0.0_r1
    32: _ANDROID_11_TO_15,  # at android-12.1.0_r1 (12L)
    33: _ANDROID_11_TO_15,  # at android-13.0.0_r1
    34: _ANDROID_11_TO_15,  # at android-14.0.0_r1
    35: _ANDROID_11_TO_15,  # at android-15.0.0_r1
}

# ro.build.version.release -> SDK, for props without ro.build.version.sdk.
SDK_BY_RELEASE = {"10": 29, "11": 30, "12": 31, "12L": 32, "13": 33, "14": 34, "15": 35}


def methods_for(sdk: int) -> Mapping[int, Method]:
    """The service's methods by code on this SDK; a virtual phone only runs releases listed here."""
    try:
        return METHODS_BY_SDK[sdk]
    except KeyError:
        known = ", ".join(map(str, METHODS_BY_SDK))
        raise ValueError(
            f"no iphonesubinfo table for SDK {sdk} (known: {known}): add its row from "
            "AOSP's IPhoneSubInfo.aidl"
        ) from None
