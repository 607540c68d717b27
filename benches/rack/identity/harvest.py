"""Identity harvest: read a phone's own IMEIs, ICCID, IMSI, serial and Wi-Fi MAC over ADB.

What is read, and how (benches/rack/identity/iphonesubinfo.py has the transaction table):

- IMEI, one per slot: `service call iphonesubinfo <getDeviceIdForPhone> i32 <slot> s16
  com.android.shell`. The slots read are as many as `persist.radio.multisim.config`
  says (ssss 1, dsds/dsda 2, tsts 3), else up to four. Reading stops at the first
  slot that answers nothing, or that repeats an IMEI already read: the telephony
  service answers an invalid phone id with phone 0's IMEI. If slot 0 gives
  nothing, `getDeviceId` (code 1 in every release) is asked instead.
- ICCID and IMSI: `getIccSerialNumber` / `getSubscriberId` of iphonesubinfo, which
  answer for the default subscription. Not `content query --uri
  content://telephony/siminfo`: that table keeps a row for every SIM the phone
  has ever seen, and its icc_id column is restricted differently per release,
  while iphonesubinfo answers for the SIM that is in the phone now, through the
  same parser and permission as the IMEI.
- serial: `getprop ro.serialno`; Wi-Fi MAC: `cat /sys/class/net/wlan0/address`.

A value the phone cannot give (no SIM, a refused call) is left out and the
reason kept in `HarvestedIdentity.missing`. Output the bench cannot read at
all raises `HarvestError`: one line that names the phone and the command.
`benches.rack.identity.check` compares the result with devices.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from benches.inventory.validators import InvalidValue, mac
from benches.rack.identity.iphonesubinfo import (
    SubInfoCodes,
    android_sdk,
    codes_for,
    default_imei_call,
    iccid_call,
    imei_call,
    imsi_call,
)
from benches.rack.identity.model import HarvestedIdentity
from benches.rack.identity.parcel import ServiceError, UnreadableReply, parse_string_reply
from benches.rack.protocols import ShellProtocol
from benches.redaction.masks import device_label, mask

MAX_SLOTS = 4
SLOTS_BY_MULTISIM_CONFIG = {"ssss": 1, "dsds": 2, "dsda": 2, "tsts": 3}
WIFI_MAC_FILE = "/sys/class/net/wlan0/address"

_IMEI = re.compile(r"[0-9]{15}")
_ICCID = re.compile(r"[0-9]{18,20}[Ff]*")  # a 19-digit ICCID may come padded with F
_IMSI = re.compile(r"[0-9]{6,15}")


class HarvestError(RuntimeError):
    """The phone answered something the bench cannot read; str() is one line."""


def harvest_identity(phone: ShellProtocol) -> HarvestedIdentity:
    """Read the phone's identifiers over ADB; raises HarvestError or the driver's error."""
    harvest = _Harvest(phone)
    sdk = android_sdk(
        harvest.prop("ro.build.version.sdk"), harvest.prop("ro.build.version.release")
    )
    codes = codes_for(sdk)
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
    )


class _Harvest:
    def __init__(self, phone: ShellProtocol) -> None:
        self.phone = phone
        self.sources: dict[str, str] = {}
        self.missing: dict[str, str] = {}

    def prop(self, name: str) -> str:
        return self.phone.shell(["getprop", name]).strip()

    def imeis(self, codes: SubInfoCodes) -> tuple[str, ...]:
        slots = SLOTS_BY_MULTISIM_CONFIG.get(self.prop("persist.radio.multisim.config"), MAX_SLOTS)
        found: list[str] = []
        first_reason = ""
        for slot in range(slots):
            args = imei_call(codes, slot)
            value, reason = self.ask(args, _IMEI.fullmatch, "IMEI")
            if value is None or value in found:
                first_reason = first_reason or reason
                break
            found.append(value)
            self.sources[f"imei[{slot}]"] = " ".join(args)
        if not found:
            args = default_imei_call()
            value, reason = self.ask(args, _IMEI.fullmatch, "IMEI")
            if value is None:
                self.missing["imei"] = f"{first_reason}; {reason}"
                return ()
            found.append(value)
            self.sources["imei[0]"] = " ".join(args)
        return tuple(found)

    def subinfo(self, kind: str, args: list[str], shape: Callable[[str], object]) -> str | None:
        value, reason = self.ask(args, shape, kind.upper())
        if value is None:
            self.missing[kind] = reason
        else:
            self.sources[kind] = " ".join(args)
        return value

    def ask(
        self, args: list[str], shape: Callable[[str], object], label: str
    ) -> tuple[str | None, str]:
        """The string a `service call` returned and passed `shape`, or None and why not."""
        command = " ".join(args)
        output = self.phone.shell(args)
        try:
            value = parse_string_reply(output)
        except UnreadableReply as error:
            raise HarvestError(
                f"{device_label(self.phone.serial)}: `{command}` printed something "
                f"unreadable: {error}"
            ) from None
        except ServiceError as error:
            return None, f"`{command}`: {error}"
        if not value:
            return None, f"`{command}` returned {'null' if value is None else 'an empty string'}"
        if not shape(value):
            return None, (
                f"`{command}` returned {mask(value)}, which is no {label}: the transaction "
                "code table (benches/rack/identity/iphonesubinfo.py) may not fit this build"
            )
        return value, ""

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
