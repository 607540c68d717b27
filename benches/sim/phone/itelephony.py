"""The virtual phone's own `phone` service table: ITelephony's methods around getImeiForSlot.

Written from AOSP's interface files and on purpose independently of the bench's
table (benches/rack/identity/itelephony.py, which this module must never import),
so that a wrong code in the bench reads another method here, as it would on a
phone. A code is 1 + the method's position in
frameworks/base/telephony/java/com/android/internal/telephony/ITelephony.aidl;
each window below is that file's methods in interface order, and its first code
is the position of its first method there (counted with comments stripped,
annotations dropped and `oneway` methods included). Every other code gets
binder's "unknown transaction" here. A real phone would run that method instead,
which is why the bench must never send a code it has no source for.

- SDK 29: AndroidBBQ/android10 at commit 8171369b14b7080e8ac349ec225e62f8217b26af
  (an Android 10 framework tree; 255 methods). Methods 137 to 152: the getters
  around getImeiForSlot (146); 153 is factoryReset.
- SDK 30: Ankits-lab/frameworks_base at commit
  150a9240e5a11cd5ebc9bb0832ce30e9c23f376a (an Android 11 tree of a ROM:
  Build.VERSION_CODES ends at R = 30; 287 methods, each one AOSP's). Methods 142
  to 161, all getters, around getImeiForSlot (154); 141 is
  enableVideoCalling(boolean) and 162 factoryReset(int).
- SDK 32: rangerzhou/AOSP at commit c545bd34269663c48c9e26456c66994b56c16bdd
  (its README and repo.txt: `repo init ... -b android-12.1.0_r4`; Build.VERSION_CODES
  ends at S_V2 = 32; 332 methods). Methods 138 to 157, the same 20 getters in the
  same order, around getImeiForSlot (150); 137 is enableVideoCalling(boolean) and
  158 factoryReset(int). From Android 11 on getImeiForSlot reads a callingFeatureId.

Other releases (SDK 31, 33 to 36): no ITelephony file of an identified release
could be read, so every `phone` code is an unknown transaction there.

An OEM build may add methods of its own: `phone_methods_for(sdk, oem_layout=True)`
inserts a vendor getter right above getImeiForSlot, which moves getImeiForSlot
and every later method up by one code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SERVICE = "phone"
VENDOR_METHOD = "getVendorImeiSv"  # an OEM getter: the slot's IMEISV (16 digits), not its IMEI


@dataclass(frozen=True)
class PhoneMethod:
    name: str
    parameters: tuple[str, ...]  # the AIDL's parameter names, in order
    returns: str  # "String", "boolean", "int" or "Parcelable" (what the reply carries)


# Read as an int32; phoneAccount(Handle) is an `in` Parcelable, whose Parcel starts with
# an int32 that is 0 for null (all the virtual phone reads of it).
_INT_PARAMETERS = frozenset(
    {"subId", "slotIndex", "subscriptionId", "phoneAccount", "phoneAccountHandle"}
)

# ITelephony.aidl of the Android 10 tree above, methods 137 to 152, in order.
_ANDROID_10_WINDOW = (
    PhoneMethod("isWorldPhone", ("subId", "callingPackage"), "boolean"),
    PhoneMethod("isTtyModeSupported", (), "boolean"),
    PhoneMethod("isRttSupported", ("subscriptionId",), "boolean"),
    PhoneMethod("isHearingAidCompatibilitySupported", (), "boolean"),
    PhoneMethod("isImsRegistered", ("subId",), "boolean"),
    PhoneMethod("isWifiCallingAvailable", ("subId",), "boolean"),
    PhoneMethod("isVideoTelephonyAvailable", ("subId",), "boolean"),
    PhoneMethod("getImsRegTechnologyForMmTel", ("subId",), "int"),
    PhoneMethod("getDeviceId", ("callingPackage",), "String"),
    PhoneMethod("getImeiForSlot", ("slotIndex", "callingPackage"), "String"),
    PhoneMethod("getTypeAllocationCodeForSlot", ("slotIndex",), "String"),
    PhoneMethod("getMeidForSlot", ("slotIndex", "callingPackage"), "String"),
    PhoneMethod("getManufacturerCodeForSlot", ("slotIndex",), "String"),
    PhoneMethod("getDeviceSoftwareVersionForSlot", ("slotIndex", "callingPackage"), "String"),
    PhoneMethod("getSubIdForPhoneAccount", ("phoneAccount",), "int"),
    PhoneMethod("getPhoneAccountHandleForSubscriptionId", ("subscriptionId",), "Parcelable"),
)

# ITelephony.aidl of the Android 11 tree above, methods 142 to 161, and of the Android 12L
# tree (android-12.1.0_r4), methods 138 to 157: the same methods in the same order.
_ANDROID_11_AND_12L_WINDOW = (
    PhoneMethod("isVideoCallingEnabled", ("callingPackage", "callingFeatureId"), "boolean"),
    PhoneMethod(
        "canChangeDtmfToneLength", ("subId", "callingPackage", "callingFeatureId"), "boolean"
    ),
    PhoneMethod("isWorldPhone", ("subId", "callingPackage", "callingFeatureId"), "boolean"),
    PhoneMethod("isTtyModeSupported", (), "boolean"),
    PhoneMethod("isRttSupported", ("subscriptionId",), "boolean"),
    PhoneMethod("isHearingAidCompatibilitySupported", (), "boolean"),
    PhoneMethod("isImsRegistered", ("subId",), "boolean"),
    PhoneMethod("isWifiCallingAvailable", ("subId",), "boolean"),
    PhoneMethod("isVideoTelephonyAvailable", ("subId",), "boolean"),
    PhoneMethod("getImsRegTechnologyForMmTel", ("subId",), "int"),
    PhoneMethod("getDeviceId", ("callingPackage",), "String"),
    PhoneMethod("getDeviceIdWithFeature", ("callingPackage", "callingFeatureId"), "String"),
    PhoneMethod("getImeiForSlot", ("slotIndex", "callingPackage", "callingFeatureId"), "String"),
    PhoneMethod("getTypeAllocationCodeForSlot", ("slotIndex",), "String"),
    PhoneMethod("getMeidForSlot", ("slotIndex", "callingPackage", "callingFeatureId"), "String"),
    PhoneMethod("getManufacturerCodeForSlot", ("slotIndex",), "String"),
    PhoneMethod(
        "getDeviceSoftwareVersionForSlot",
        ("slotIndex", "callingPackage", "callingFeatureId"),
        "String",
    ),
    PhoneMethod("getSubIdForPhoneAccount", ("phoneAccount",), "int"),
    PhoneMethod(
        "getSubIdForPhoneAccountHandle",
        ("phoneAccountHandle", "callingPackage", "callingFeatureId"),
        "int",
    ),
    PhoneMethod("getPhoneAccountHandleForSubscriptionId", ("subscriptionId",), "Parcelable"),
)

# (position of the window's first method in the interface, the window), per SDK.
_WINDOWS: Mapping[int, tuple[int, tuple[PhoneMethod, ...]]] = {
    29: (137, _ANDROID_10_WINDOW),  # isWorldPhone is Android 10's 137th method
    30: (142, _ANDROID_11_AND_12L_WINDOW),  # isVideoCallingEnabled is Android 11's 142nd
    32: (138, _ANDROID_11_AND_12L_WINDOW),  # and Android 12L's 138th
}

PHONE_METHODS_BY_SDK: Mapping[int, Mapping[int, PhoneMethod]] = {
    sdk: dict(enumerate(window, start=first)) for sdk, (first, window) in _WINDOWS.items()
}

_VENDOR = PhoneMethod(VENDOR_METHOD, ("slotIndex", "callingPackage"), "String")


def phone_methods_for(sdk: int, oem_layout: bool = False) -> Mapping[int, PhoneMethod]:
    """The listed ITelephony methods by code on this SDK; empty where none could be sourced.

    With `oem_layout`, a vendor getter sits where getImeiForSlot was, and
    getImeiForSlot and every later method move up by one code.
    """
    methods = PHONE_METHODS_BY_SDK.get(sdk, {})
    if not oem_layout or not methods:
        return methods
    at = next(code for code, method in methods.items() if method.name == "getImeiForSlot")
    shifted = {code + (code >= at): method for code, method in methods.items()}
    return {**shifted, at: _VENDOR}


def is_int_parameter(name: str) -> bool:
    return name in _INT_PARAMETERS
