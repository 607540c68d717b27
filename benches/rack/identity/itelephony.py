"""Which `service call phone` code reads a slot's IMEI (ITelephony.getImeiForSlot), per release.

Android's own TelephonyManager.getImei(slot) asks the `phone` service, not
iphonesubinfo: getImeiForSlot answers `Phone.getImei()`, the IMEI even on a
CDMA phone, where iphonesubinfo's getDeviceIdForPhone answers the MEID. A
transaction code is 1 + the method's position in
frameworks/base/telephony/java/com/android/internal/telephony/ITelephony.aidl,
every method counted (`oneway` ones too).

Only rows read from a source that can be named are here:

| SDK | getImeiForSlot | parameters | source |
| --- | --- | --- | --- |
| 29 | 146 | int slotIndex, String callingPackage | Android 10 framework tree, see below |

- SDK 29: AndroidBBQ/android10, commit 8171369b14b7080e8ac349ec225e62f8217b26af
  (its author's build of the Android 10 sources; Build.VERSION_CODES ends at
  Q = 29; the r-tag is not named). Its
  frameworks/base/telephony/java/com/android/internal/telephony/ITelephony.aidl
  has 255 methods, getImeiForSlot the 146th, and the stub generated from it
  (gen/com/android/internal/telephony/ITelephony.java) has
  `TRANSACTION_getImeiForSlot = (android.os.IBinder.FIRST_CALL_TRANSACTION + 145)`.
  A decompiled Android 10 stub in the code index agrees (getDeviceId 145,
  getImeiForSlot 146). Its IPhoneSubInfo stub agrees with iphonesubinfo.py's
  SDK 29 row (3, 7, 10).
- SDK 30 to 36: no row. AOSP's ITelephony.aidl of those tags could not be read
  from this workspace, and the decompiled stubs found (getImeiForSlot at 143,
  146, 148, 149, 150) name no build. Those releases read the IMEI through
  iphonesubinfo only. Never fill a row by guessing or from the nearest SDK.

Why a wrong code matters here, unlike in iphonesubinfo: ITelephony has methods
that change the phone. Around code 146 on Android 10, codes 135 to 152 are all
getters (isVideoCallingEnabled ... getPhoneAccountHandleForSubscriptionId), so
an OEM build that inserted up to 11 methods above getImeiForSlot, or dropped up
to 6, still reads something harmless; 153 is factoryReset(int subId) and 134
enableVideoCalling(boolean). The OEM stubs seen were within 3 of 146. What
comes back is used only if it has an IMEI's shape; anything else (an
exception, binder's unknown transaction, null, a boolean or int reply, a
String of another shape) makes the harvest ask iphonesubinfo for that slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from benches.rack.identity.iphonesubinfo import NULL_STRING, SHELL_PACKAGE

SERVICE = "phone"


@dataclass(frozen=True)
class TelephonyCodes:
    imei_for_slot: int  # getImeiForSlot(int slotIndex, String callingPackage, ...)
    # getImeiForSlot reads a String callingFeatureId after the package (no sourced row has one).
    feature_id: bool
    source: str  # where the row was read


CODES_BY_SDK: dict[int, TelephonyCodes] = {
    29: TelephonyCodes(
        146,
        feature_id=False,
        source="AndroidBBQ/android10@8171369b ITelephony.aidl and its generated stub (Android 10)",
    ),
}


def telephony_codes_for(sdk: int | None) -> TelephonyCodes | None:
    """The row for exactly this SDK; None (read iphonesubinfo) for any other."""
    return CODES_BY_SDK.get(sdk) if sdk is not None else None


def imei_for_slot_call(codes: TelephonyCodes, slot: int) -> list[str]:
    feature = NULL_STRING if codes.feature_id else []
    return [
        "service",
        "call",
        SERVICE,
        str(codes.imei_for_slot),
        "i32",
        str(slot),
        "s16",
        SHELL_PACKAGE,
        *feature,
    ]
