"""The virtual phone's own iphonesubinfo table: which transaction code is which method.

Written from AOSP's interface, and on purpose independently of the bench's table
(benches/rack/identity/iphonesubinfo.py, which this module must never import):
the virtual phones answer as AOSP does, so a wrong code in the bench fails
against them instead of agreeing with itself.

A transaction code is 1 + the method's position in
frameworks/base/telephony/java/com/android/internal/telephony/IPhoneSubInfo.aidl
(the stub's FIRST_CALL_TRANSACTION is 1). The lists below hold each release's
first methods, in the interface's order, up to getIccSerialNumberForSubscriber;
a code past them gets binder's "unknown transaction". Each method reads its
arguments in the order the interface declares them.

Where the lists come from: issue 16's reading of the AOSP tags (the tag files
could not be opened from this workspace), matched against the TRANSACTION_
constants of generated IPhoneSubInfo stubs of Android 10, 11-15 and 16 builds.

An OEM build may add methods of its own (`oem_layout`): one inserted above
getDeviceIdForPhone shifts that method and every later one by one code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SERVICE = "iphonesubinfo"
SHELL_PACKAGE = "com.android.shell"  # the package of uid 2000, which adb's shell runs as
INT_PARAMETERS = frozenset({"phoneId", "subId"})  # every other parameter below is a String


@dataclass(frozen=True)
class Method:
    name: str
    parameters: tuple[str, ...]  # the AIDL's parameter names, in order


_PACKAGE = ("callingPackage",)
_FEATURE = ("callingPackage", "callingFeatureId")


def _methods(*methods: Method) -> Mapping[int, Method]:
    return {code: method for code, method in enumerate(methods, start=1)}


# IPhoneSubInfo.aidl at android-10.0.0_r1.
_ANDROID_10 = _methods(
    Method("getDeviceId", _PACKAGE),
    Method("getNaiForSubscriber", ("subId", *_PACKAGE)),
    Method("getDeviceIdForPhone", ("phoneId", *_PACKAGE)),
    Method("getImeiForSubscriber", ("subId", *_PACKAGE)),
    Method("getDeviceSvn", _PACKAGE),
    Method("getDeviceSvnUsingSubId", ("subId", *_PACKAGE)),
    Method("getSubscriberId", _PACKAGE),
    Method("getSubscriberIdForSubscriber", ("subId", *_PACKAGE)),
    Method("getGroupIdLevel1ForSubscriber", ("subId", *_PACKAGE)),
    Method("getIccSerialNumber", _PACKAGE),
    Method("getIccSerialNumberForSubscriber", ("subId", *_PACKAGE)),
)

# android-11.0.0_r1 gave most methods a callingFeatureId and inserted the
# ...WithFeature variants. Unchanged up to android-15.0.0_r1: code 13 there is
# getIccSerialNumberWithFeature, not getIccSerialNumber.
_ANDROID_11_TO_15 = _methods(
    Method("getDeviceId", _PACKAGE),
    Method("getDeviceIdWithFeature", _FEATURE),
    Method("getNaiForSubscriber", ("subId", *_FEATURE)),
    Method("getDeviceIdForPhone", ("phoneId", *_FEATURE)),
    Method("getImeiForSubscriber", ("subId", *_FEATURE)),
    Method("getDeviceSvn", _FEATURE),
    Method("getDeviceSvnUsingSubId", ("subId", *_FEATURE)),
    Method("getSubscriberId", _PACKAGE),
    Method("getSubscriberIdWithFeature", _FEATURE),
    Method("getSubscriberIdForSubscriber", ("subId", *_FEATURE)),
    Method("getGroupIdLevel1ForSubscriber", ("subId", *_FEATURE)),
    Method("getIccSerialNumber", _PACKAGE),
    Method("getIccSerialNumberWithFeature", _FEATURE),
    Method("getIccSerialNumberForSubscriber", ("subId", *_FEATURE)),
)

# android-16.0.0_r2 inserted getGroupIdLevel2ForSubscriber after Level1.
_ANDROID_16 = _methods(
    *(_ANDROID_11_TO_15[code] for code in range(1, 12)),
    Method("getGroupIdLevel2ForSubscriber", ("subId", *_FEATURE)),
    *(_ANDROID_11_TO_15[code] for code in range(12, 15)),
)

METHODS_BY_SDK: Mapping[int, Mapping[int, Method]] = {
    29: _ANDROID_10,  # android-10.0.0_r1
    30: _ANDROID_11_TO_15,  # android-11.0.0_r1
    31: _ANDROID_11_TO_15,  # android-12.0.0_r1
    32: _ANDROID_11_TO_15,  # android-12.1.0_r1 (12L)
    33: _ANDROID_11_TO_15,  # android-13.0.0_r1
    34: _ANDROID_11_TO_15,  # android-14.0.0_r1
    35: _ANDROID_11_TO_15,  # android-15.0.0_r1
    36: _ANDROID_16,  # android-16.0.0_r2
}

# What an OEM build inserts above getDeviceIdForPhone: a vendor getter of the IMEISV,
# with the same parameters as getDeviceIdForPhone in that release.
VENDOR_METHOD = "getVendorImeiSv"


def methods_for(sdk: int, oem_layout: bool = False) -> Mapping[int, Method]:
    """The service's methods by code on this SDK; a virtual phone only runs releases listed here."""
    try:
        methods = METHODS_BY_SDK[sdk]
    except KeyError:
        known = ", ".join(map(str, METHODS_BY_SDK))
        raise ValueError(
            f"no iphonesubinfo table for SDK {sdk} (known: {known}): add its row from "
            "AOSP's IPhoneSubInfo.aidl"
        ) from None
    if not oem_layout:
        return methods
    at = next(code for code, method in methods.items() if method.name == "getDeviceIdForPhone")
    ordered = [methods[code] for code in sorted(methods)]
    ordered.insert(at - 1, Method(VENDOR_METHOD, methods[at].parameters))
    return _methods(*ordered)
