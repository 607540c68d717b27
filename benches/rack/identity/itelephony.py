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
| 29 | 146 | int slotIndex, String callingPackage | Android 10 framework tree |
| 30 | 154 | int slotIndex, String callingPackage, String callingFeatureId | Android 11 ROM tree |
| 32 | 150 | int slotIndex, String callingPackage, String callingFeatureId | android-12.1.0_r4 |

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
- SDK 30: Ankits-lab/frameworks_base, commit
  150a9240e5a11cd5ebc9bb0832ce30e9c23f376a, a ROM's Android 11 tree: the same
  commit's core/java/android/os/Build.java ends VERSION_CODES at R = 30. Its
  ITelephony.aidl has 287 methods, getImeiForSlot the 154th:
  `String getImeiForSlot(int slotIndex, String callingPackage, String
  callingFeatureId)`. No pure AOSP 11 file could be read, so the ROM's was checked
  for vendor methods: each of its 287 names is in AOSP Android 10's or 12L's
  ITelephony.aidl (the trees of the SDK 29 and 32 rows) or is called by AOSP's
  API 30 platform sources (AndroidSDKSources/android-sdk-sources-for-api-level-30,
  whose TelephonyManager.getImei(slot) calls getImeiForSlot(slotIndex,
  getOpPackageName(), getAttributionTag())). A smali dump in the code index that
  names no build agrees on four positions (getImsConfig 98, getImeiForSlot 154,
  getEsn 173, getForbiddenPlmns 194). Which android-11.0.0_rN the ROM follows is
  not known; later Android 11 releases were not checked.
- SDK 32: rangerzhou/AOSP, commit c545bd34269663c48c9e26456c66994b56c16bdd
  ("Initial code"), an AOSP tree its README and repo.txt name as
  `repo init -u https://android.googlesource.com/platform/manifest -b
  android-12.1.0_r4`; the same commit's core/java/android/os/Build.java ends
  VERSION_CODES at S_V2 = 32. Its ITelephony.aidl (never edited in that
  repository) has 332 methods, getImeiForSlot the 150th:
  `String getImeiForSlot(int slotIndex, String callingPackage, String
  callingFeatureId)`. Its IPhoneSubInfo.aidl agrees with iphonesubinfo.py's SDK
  32 row (4, 8, 12). No second, independent 12L source was found: the
  decompiled stubs in the code index name no build. callingFeatureId is sent as
  `i32 -1`, a null String, as for iphonesubinfo.
- SDK 36: no row, because one SDK has two layouts. gotenksIN/android_frameworks_base
  at 48ebb979 (a ROM's Android 16 tree, Build.java: BAKLAVA = 36, no minor
  version) has getImeiForSlot 137 and factoryReset(int, String) 143, but
  yaap/frameworks_base at 3ddcaa00 (Android 16 QPR2, VERSION_CODES_FULL.BAKLAVA_1)
  has dropped at least five methods above getImeiForSlot, and both report SDK 36.
- SDK 31, 33, 34 and 35: no row. No ITelephony.aidl of an identified release
  could be read from this workspace (/work/notes/aosp.md lists what was searched).
  Those releases read the IMEI through iphonesubinfo only. Never fill a row by
  guessing or from the nearest SDK: getImeiForSlot is 146 on Android 10, 154 on
  11, 150 on 12L and 137 on a 16.0 tree, and factoryReset sits 8 codes above it
  on 11 and 12L, 6 on 16.0. Later releases of one SDK (QPRs) may move it too:
  rows were read from one tree each.

Why a wrong code matters here, unlike in iphonesubinfo: ITelephony has methods
that change the phone. How far an OEM build's layout would have to move for the
row's code to reach one:

- SDK 29: codes 135 to 152 are all getters (isVideoCallingEnabled ...
  getPhoneAccountHandleForSubscriptionId), so an OEM build that inserted up to 11
  methods above getImeiForSlot, or dropped up to 6, still reads something
  harmless; 153 is factoryReset(int subId) and 134 enableVideoCalling(boolean).
- SDK 30: codes 142 to 161 are all getters (isVideoCallingEnabled ...
  getPhoneAccountHandleForSubscriptionId): up to 12 inserted, or 7 dropped, still
  reads a getter; 162 is factoryReset(int subId) and 141 enableVideoCalling(boolean).
- SDK 32: codes 138 to 157 are all getters (isVideoCallingEnabled ...
  getPhoneAccountHandleForSubscriptionId): up to 12 inserted, or 7 dropped, still
  reads a getter; 158 is factoryReset(int subId), 137 enableVideoCalling(boolean)
  and 136 uploadCallComposerPicture.

The decompiled stubs seen in the code index (builds of unknown release and
vendor) put getImeiForSlot anywhere from 119 to 154. What comes back is used
only if it has an IMEI's shape; anything else (an exception, binder's unknown
transaction, null, a boolean or int reply, a String of another shape) makes
the harvest ask iphonesubinfo for that slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from benches.rack.identity.iphonesubinfo import NULL_STRING, SHELL_PACKAGE

SERVICE = "phone"


@dataclass(frozen=True)
class TelephonyCodes:
    imei_for_slot: int  # getImeiForSlot(int slotIndex, String callingPackage, ...)
    feature_id: bool  # getImeiForSlot reads a String callingFeatureId after the package
    source: str  # where the row was read


CODES_BY_SDK: dict[int, TelephonyCodes] = {
    29: TelephonyCodes(
        146,
        feature_id=False,
        source="AndroidBBQ/android10@8171369b ITelephony.aidl and its generated stub (Android 10)",
    ),
    30: TelephonyCodes(
        154,
        feature_id=True,
        source="Ankits-lab/frameworks_base@150a9240 ITelephony.aidl (a ROM's Android 11 tree)",
    ),
    32: TelephonyCodes(
        150,
        feature_id=True,
        source="rangerzhou/AOSP@c545bd34 ITelephony.aidl (android-12.1.0_r4, Android 12L)",
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
