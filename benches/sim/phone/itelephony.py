"""The virtual phone's own `phone` service table: ITelephony's methods around getImeiForSlot.

Written from the Android 10 interface and on purpose independently of the bench's
table (benches/rack/identity/itelephony.py, which this module must never import),
so that a wrong code in the bench reads another method here, as it would on a
phone.

Source: AndroidBBQ/android10 at commit 8171369b14b7080e8ac349ec225e62f8217b26af,
frameworks/base/telephony/java/com/android/internal/telephony/ITelephony.aidl
(an Android 10 framework tree; 255 methods). A code is 1 + the method's
position there. Only the methods from 137 to 152 are listed: the getters
around getImeiForSlot (146). Every other code gets binder's "unknown
transaction" here. A real phone would run that method instead, which is why the
bench must never send a code it has no source for.

Other releases: the virtual phone has no ITelephony table for SDK 30 to 36
(none could be sourced), so every `phone` code is an unknown transaction there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SERVICE = "phone"
FIRST_LISTED = 137  # isWorldPhone, the first method listed below


@dataclass(frozen=True)
class PhoneMethod:
    name: str
    parameters: tuple[str, ...]  # the AIDL's parameter names, in order
    returns: str  # "String", "boolean", "int" or "Parcelable" (what the reply carries)


# Read as an int32; phoneAccount is an `in PhoneAccount`, whose Parcel starts with an
# int32 that is 0 for null (all the virtual phone reads of it).
_INT_PARAMETERS = frozenset({"subId", "slotIndex", "subscriptionId", "phoneAccount"})

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

PHONE_METHODS_BY_SDK: Mapping[int, Mapping[int, PhoneMethod]] = {
    29: dict(enumerate(_ANDROID_10_WINDOW, start=FIRST_LISTED)),
}


def phone_methods_for(sdk: int) -> Mapping[int, PhoneMethod]:
    """The listed ITelephony methods by code on this SDK; empty where none could be sourced."""
    return PHONE_METHODS_BY_SDK.get(sdk, {})


def is_int_parameter(name: str) -> bool:
    return name in _INT_PARAMETERS
