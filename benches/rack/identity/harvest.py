"""Identity harvest: read a phone's own IMEIs, ICCID, IMSI, serial and Wi-Fi MAC over ADB.

What is read, and how (benches/rack/identity/iphonesubinfo.py has the transaction table):

- IMEI, one per slot: where itelephony.py has a row for the phone's SDK (SDK 29,
  30 and 32 so far), `service call phone <getImeiForSlot> i32 <slot> s16
  com.android.shell [i32 -1]` first, as TelephonyManager.getImei(slot) does
  (`i32 -1` is a null callingFeatureId, where the row's interface reads one).
  Any answer that is not an IMEI (an exception, unknown transaction, null, another reply)
  falls back, for that slot, to `service call iphonesubinfo
  <getDeviceIdForPhone> i32 <slot> s16 com.android.shell [i32 -1]` (the
  `i32 -1` is a null callingFeatureId, on Android 11 and later), which every
  SDK uses. `sources["imei[N]"]` says which call gave each IMEI. The slots read
  are as many as `persist.radio.multisim.config` says (ssss 1, dsds/dsda 2,
  tsts 3), else up to four. Reading stops at the first slot that answers
  nothing, or that repeats an IMEI already read: the telephony service answers
  an invalid phone id with phone 0's IMEI. If slot 0 gives nothing,
  `getDeviceId` (code 1 in every release) is asked instead.
- ICCID and IMSI: `getIccSerialNumber` / `getSubscriberId` of iphonesubinfo, which
  answer for the default subscription. Not `content query --uri
  content://telephony/siminfo`: that table keeps a row for every SIM the phone
  has ever seen, and its icc_id column is restricted differently per release,
  while iphonesubinfo answers for the SIM that is in the phone now, through the
  same parser and permission as the IMEI.
- serial: `getprop ro.serialno`; Wi-Fi MAC: `cat /sys/class/net/wlan0/address`.

getDeviceIdForPhone answers `Phone.getDeviceId()`: the IMEI on a GSM phone, but
the MEID (14 hex digits) on a CDMA one. An MEID is kept in
`HarvestedIdentity.meid` and said in the IMEI's reason, never taken for an IMEI.

The `phone` service is asked on SDK 29, 30 and 32 only: for SDK 31 and 33-36
no ITelephony row could be sourced (itelephony.py says what was found), and
unlike IPhoneSubInfo, whose methods are all getters, ITelephony has methods that change the phone
(setRadio, factoryReset, switchSlots, rebootModem...), so no code is guessed.

Every answer is checked for the shape of what was asked. What the bench cannot
use is never guessed around: the reason, kept in `HarvestedIdentity.missing`,
names the call, says what it answered (masked) and asks for the value in
devices.yaml:

- an exception (a SecurityException where a build took the shell's permission
  away), a binder error or null: that value is missing;
- a value of the wrong shape (an OEM build whose extra method moved the codes):
  that value is missing, and for the IMEI no other code is tried, since a
  partial IMEI list would hide the IMEIs left unread.

Output that is no `service call` reply at all raises `HarvestError`: one line
that names the phone and the command. `benches.rack.identity.check` compares
the result with devices.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from benches.inventory.android import android_sdk
from benches.inventory.validators import InvalidValue, mac
from benches.rack.identity.iphonesubinfo import (
    SubInfoCodes,
    codes_for,
    default_imei_call,
    iccid_call,
    imei_call,
    imsi_call,
)
from benches.rack.identity.itelephony import imei_for_slot_call, telephony_codes_for
from benches.rack.identity.model import HarvestedIdentity
from benches.rack.identity.parcel import ServiceError, UnreadableReply, parse_string_reply
from benches.rack.protocols import ShellProtocol
from benches.redaction.masks import device_label, mask

MAX_SLOTS = 4
SLOTS_BY_MULTISIM_CONFIG = {"ssss": 1, "dsds": 2, "dsda": 2, "tsts": 3}
WIFI_MAC_FILE = "/sys/class/net/wlan0/address"

_IMEI = re.compile(r"[0-9]{15}")
_MEID = re.compile(r"[0-9A-Fa-f]{14}")
_ICCID = re.compile(r"[0-9]{18,20}[Ff]*")  # a 19-digit ICCID may come padded with F
_IMSI = re.compile(r"[0-9]{6,15}")


class HarvestError(RuntimeError):
    """The phone answered something the bench cannot read; str() is one line."""


@dataclass(frozen=True)
class Answer:
    """What one `service call` gave: a value of the asked shape, or why not."""

    value: str | None
    reason: str = ""
    raw: str | None = None  # the string it returned, when that was not of the asked shape


def harvest_identity(phone: ShellProtocol) -> HarvestedIdentity:
    """Read the phone's identifiers over ADB; raises HarvestError or the driver's error."""
    harvest = _Harvest(phone)
    sdk = android_sdk(
        harvest.prop("ro.build.version.sdk"), harvest.prop("ro.build.version.release")
    )
    codes = codes_for(sdk)
    harvest.sdk = sdk
    imeis = harvest.imeis(codes)
    iccid = harvest.subinfo("iccid", iccid_call(codes), _ICCID.fullmatch)
    imsi = harvest.subinfo("imsi", imsi_call(codes), _IMSI.fullmatch)
    return HarvestedIdentity(
        imei=imeis,
        iccid=iccid,
        imsi=imsi,
        serial=harvest.serial(),
        wifi_mac=harvest.wifi_mac(),
        sources=harvest.sources,
        missing=harvest.missing,
        sdk=sdk,
        meid=tuple(harvest.meids),
    )


class _Harvest:
    def __init__(self, phone: ShellProtocol) -> None:
        self.phone = phone
        self.sources: dict[str, str] = {}
        self.missing: dict[str, str] = {}
        self.meids: list[str] = []
        self.sdk: int | None = None

    def prop(self, name: str) -> str:
        return self.phone.shell(["getprop", name]).strip()

    def imeis(self, codes: SubInfoCodes) -> tuple[str, ...]:
        slots = SLOTS_BY_MULTISIM_CONFIG.get(self.prop("persist.radio.multisim.config"), MAX_SLOTS)
        found: list[str] = []
        reasons: list[str] = []
        phone_codes = telephony_codes_for(self.sdk)
        for slot in range(slots):
            if phone_codes is not None:
                args = imei_for_slot_call(phone_codes, slot)
                value = self.phone_imei(args)
                if value is not None and value not in found:
                    found.append(value)
                    self.sources[f"imei[{slot}]"] = " ".join(args)
                    continue
            args = imei_call(codes, slot)
            answer = self.ask(args, _IMEI.fullmatch, "IMEI")
            if answer.raw is not None and _MEID.fullmatch(answer.raw):
                if answer.raw in self.meids:  # an invalid phone id reads phone 0
                    break
                self.meids.append(answer.raw)
                self.sources[f"meid[{slot}]"] = " ".join(args)
                reasons.append(
                    f"`{' '.join(args)}` answered the MEID {mask(answer.raw)} (a CDMA phone's "
                    "device id), not an IMEI: declare the phone's IMEIs in devices.yaml"
                )
                continue
            if answer.raw is not None:  # something, of no known shape: not this layout
                self.missing["imei"] = answer.reason
                return ()
            if answer.value is None or answer.value in found:
                reasons.append(answer.reason or f"slot {slot} repeats an IMEI")
                break
            found.append(answer.value)
            self.sources[f"imei[{slot}]"] = " ".join(args)
        if not found and not self.meids:
            args = default_imei_call()
            answer = self.ask(args, _IMEI.fullmatch, "IMEI")
            if answer.value is not None:
                self.sources["imei[0]"] = " ".join(args)
                return (answer.value,)
            reasons.append(answer.reason)
        if not found:
            self.missing["imei"] = "; ".join(filter(None, reasons))
        return tuple(found)

    def phone_imei(self, args: list[str]) -> str | None:
        """The IMEI the `phone` service gave, or None for anything else (then iphonesubinfo)."""
        try:
            value = parse_string_reply(self.phone.shell(args))
        except (UnreadableReply, ServiceError):
            return None  # an exception, unknown transaction, or a reply that is no String
        return value if value and _IMEI.fullmatch(value) else None

    def subinfo(self, kind: str, args: list[str], shape: Callable[[str], object]) -> str | None:
        answer = self.ask(args, shape, kind.upper())
        if answer.value is None:
            self.missing[kind] = answer.reason
        else:
            self.sources[kind] = " ".join(args)
        return answer.value

    def ask(self, args: list[str], shape: Callable[[str], object], label: str) -> Answer:
        """The string a `service call` returned if it passed `shape`, else why not."""
        command = " ".join(args)
        output = self.phone.shell(args)
        try:
            value = parse_string_reply(output)
        except UnreadableReply as error:
            raise HarvestError(
                f"{device_label(self.phone.serial)}: `{command}` printed something "
                f"unreadable: {error}: declare the phone's identifiers in devices.yaml"
            ) from None
        except ServiceError as error:
            return Answer(None, f"`{command}` answered {error}: {_declare(label)}")
        if not value:
            return Answer(
                None, f"`{command}` returned {'null' if value is None else 'an empty string'}"
            )
        if not shape(value):
            return Answer(
                None,
                f"`{command}` answered {mask(value)} ({len(value)} characters), which is no "
                f"{label}: this build's iphonesubinfo does not have AOSP's SDK "
                f"{self.sdk if self.sdk is not None else '?'} layout (an OEM build?), and the "
                f"bench does not guess other codes: {_declare(label)}",
                raw=value,
            )
        return Answer(value)

    def serial(self) -> str | None:
        value = self.prop("ro.serialno")
        if not value or value == "unknown":
            self.missing["serial"] = "`getprop ro.serialno` is empty"
            return None
        self.sources["serial"] = "getprop ro.serialno"
        return value

    def wifi_mac(self) -> str | None:
        args = ["cat", WIFI_MAC_FILE]
        output = self.phone.shell(args).strip()
        try:
            value = mac(output)
        except InvalidValue:
            # cat's complaint ends with strerror: keep that, never the output itself.
            reason = output.rsplit(": ", 1)[-1][:60] if ": " in output else "no MAC address"
            self.missing["wifi_mac"] = f"`{' '.join(args)}`: {reason}"
            return None
        self.sources["wifi_mac"] = " ".join(args)
        return value


def _declare(label: str) -> str:
    return (
        f"declare the phone's {label}s in devices.yaml"
        if label == "IMEI"
        else (f"declare the phone's {label} in devices.yaml")
    )
