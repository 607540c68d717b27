"""The virtual phone's telephony, as the bench's identity harvest reads it over ADB.

`service call iphonesubinfo CODE i32 N s16 TEXT ...` is answered the way
Android's `service` tool prints a binder reply (`parcel.py`), for the
transaction codes of the phone's SDK in the phone's own table
(`iphonesubinfo.py`, written from AOSP, not the bench's). Like the real service:

- the calling package must be com.android.shell (the shell's uid), else a
  SecurityException;
- an invalid phone id reads phone 0;
- from Android 13 on, arguments the method does not read are a
  BadParcelableException ("Parcel data not fully consumed");
- a String argument may be null: `i32 -1` is what Parcel.writeString(null) writes.

Stricter than a real phone, so a bench that sends the wrong arguments fails
here: every parameter the method reads must be there (a real Stub reads null or
0 past the end of the Parcel), and of its type (a real Stub would misread the
bytes). Both are a BadParcelableException naming the parameter.

Options a rack gives a phone: `oem_layout` (an OEM build's extra method
inserted above getDeviceIdForPhone, which shifts the later codes) and `meid`
(a CDMA phone: getDeviceId and getDeviceIdForPhone(0) answer the MEID, as
GsmCdmaPhone.getDeviceId does on CDMA). `oem_phone_layout` does to the `phone`
service what `oem_layout` does to iphonesubinfo: a vendor getter (the slot's
IMEISV) sits where getImeiForSlot was, one code lower than it now is.

`service call phone CODE ...` is answered from the phone's own ITelephony table
(`itelephony.py`: the getters around getImeiForSlot of Android 10, 11 and
12L; no table, so only unknown transactions, for SDK 31 and 33-36),
with the same strict argument reading and calling-package check.
getImeiForSlot answers null for a slot the phone does not have
(PhoneFactory.getPhone gives null there), and the IMEI on a CDMA phone too.

`cat /sys/class/net/wlan0/address` prints the Wi-Fi MAC. The identity is a
callable, read at every call, so a fault can make the phone report another
IMEI than devices.yaml declares.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

from benches.inventory.android import android_sdk
from benches.inventory.models import Identity
from benches.sim.phone.iphonesubinfo import (
    INT_PARAMETERS,
    SERVICE,
    SHELL_PACKAGE,
    VENDOR_METHOD,
    Method,
    methods_for,
)
from benches.sim.phone.itelephony import SERVICE as PHONE_SERVICE
from benches.sim.phone.itelephony import VENDOR_METHOD as PHONE_VENDOR_METHOD
from benches.sim.phone.itelephony import PhoneMethod, is_int_parameter, phone_methods_for
from benches.sim.phone.parcel import dump, exception_reply, string16, string_reply
from benches.sim.phone.shell import Command

WIFI_MAC_FILE = "/sys/class/net/wlan0/address"  # where Android's wlan0 shows its MAC
SHELL_UID = 2000
UNKNOWN_TRANSACTION = 'Result: Parcel(Error: 0xffffffb6 "Not a data message")\n'
EX_SECURITY = -1
EX_BAD_PARCELABLE = -2
ENFORCES_NO_DATA_AVAIL = 33  # Android 13's AIDL stubs reject unread arguments
DEFAULT_SDK = 29  # the virtual phones run Android 10 unless the rack says otherwise
NULL_LENGTH = -1  # Parcel.writeString(null) writes the length -1 and nothing else
SVN = "01"  # the software version number the virtual phones report

Argument = tuple[str, int | str]  # ("i32", 0) or ("s16", "com.android.shell")


class _RemoteException(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def telephony_commands(
    identity: Callable[[], Identity],
    sdk: int,
    *,
    oem_layout: bool = False,
    meid: str | None = None,
    oem_phone_layout: bool = False,
) -> dict[str, Command]:
    """Shell commands for PhoneShell(extra=...): `service` and `cat`."""
    methods = methods_for(sdk, oem_layout)
    phone_methods = phone_methods_for(sdk, oem_phone_layout)

    def service(args: list[str]) -> tuple[str, int]:
        if len(args) < 3 or args[0] != "call" or not args[2].isdigit():
            return "usage: service call SERVICE CODE [i32 N | s16 STR] ...\n", 1
        if args[1] not in (SERVICE, PHONE_SERVICE):
            return f"service: Service {args[1]} does not exist\n", 0
        try:
            request = _Request(_arguments(args[3:]))
        except ValueError as error:
            return f"service: {error}\n", 1
        if args[1] == PHONE_SERVICE:
            return _phone_call(phone_methods.get(int(args[2])), request, _Phone(identity(), meid))
        method = methods.get(int(args[2]))
        if method is None:
            return UNKNOWN_TRANSACTION, 0
        try:
            value = _answer(method, request, _Phone(identity(), meid))
            if sdk >= ENFORCES_NO_DATA_AVAIL and request.unread():
                raise _RemoteException(
                    EX_BAD_PARCELABLE,
                    f"Parcel data not fully consumed, unread size: {request.unread()}",
                )
        except _RemoteException as error:
            return dump(exception_reply(error.code, str(error))), 0
        return dump(string_reply(value)), 0

    def cat(args: list[str]) -> tuple[str, int]:
        wifi_mac = identity().wifi_mac
        if args == [WIFI_MAC_FILE] and wifi_mac:
            return wifi_mac + "\n", 0
        path = args[0] if args else "-"
        return f"cat: {path}: No such file or directory\n", 1

    return {"service": service, "cat": cat}


class _Phone:
    """What the telephony service knows: the identity, and an MEID on a CDMA phone."""

    def __init__(self, identity: Identity, meid: str | None) -> None:
        self.identity = identity
        self.meid = meid

    def imei(self, slot: int) -> str | None:
        imeis = self.identity.imei
        # PhoneSubInfoController reads phone 0 for a phone id that is out of range.
        return imeis[slot if 0 <= slot < len(imeis) else 0] if imeis else None

    def device_id(self, slot: int) -> str | None:
        # GsmCdmaPhone.getDeviceId: the IMEI on GSM, the MEID on a CDMA phone.
        if self.meid and (slot == 0 or not 0 <= slot < len(self.identity.imei)):
            return self.meid
        return self.imei(slot)

    def iccid(self) -> str | None:
        iccid = self.identity.iccid
        # EF_ICCID holds 20 BCD nibbles: a 19-digit ICCID is padded with the filler F.
        return iccid + "F" if iccid and len(iccid) == 19 else iccid


def _answer(method: Method, request: _Request, phone: _Phone) -> str | None:
    """Read the method's arguments in order, check the caller, and return what it returns."""
    arguments: dict[str, int | str | None] = {
        name: request.int32(name) if name in INT_PARAMETERS else request.string(name)
        for name in method.parameters
    }
    package = arguments["callingPackage"]
    if package != SHELL_PACKAGE:
        raise _RemoteException(EX_SECURITY, f"Package {package} does not belong to {SHELL_UID}")
    number = arguments.get("phoneId", arguments.get("subId"))
    slot = number if isinstance(number, int) else 0
    subscription = slot - 1  # the virtual phones' subscription ids are their slot + 1
    name = method.name
    if name in ("getDeviceId", "getDeviceIdWithFeature"):
        return phone.device_id(0)
    if name == "getDeviceIdForPhone":
        return phone.device_id(slot)
    if name == "getImeiForSubscriber":
        return phone.imei(subscription) if 0 <= subscription < len(phone.identity.imei) else None
    if name == VENDOR_METHOD:
        imei = phone.imei(slot)
        return imei[:14] + SVN if imei else None
    if name.startswith("getDeviceSvn"):
        return SVN
    if name in ("getSubscriberId", "getSubscriberIdWithFeature"):
        return phone.identity.imsi
    if name == "getSubscriberIdForSubscriber":
        return phone.identity.imsi if subscription == 0 else None
    if name in ("getIccSerialNumber", "getIccSerialNumberWithFeature"):
        return phone.iccid()
    if name == "getIccSerialNumberForSubscriber":
        return phone.iccid() if subscription == 0 else None
    return None  # getNaiForSubscriber, getGroupIdLevel1/2ForSubscriber: none on these SIMs


def _phone_call(method: PhoneMethod | None, request: _Request, phone: _Phone) -> tuple[str, int]:
    """ITelephony, as PhoneInterfaceManager answers it; codes not listed are unknown here."""
    if method is None:
        return UNKNOWN_TRANSACTION, 0
    try:
        arguments: dict[str, int | str | None] = {
            name: request.int32(name) if is_int_parameter(name) else request.string(name)
            for name in method.parameters
        }
        if "callingPackage" in arguments and arguments["callingPackage"] != SHELL_PACKAGE:
            package = arguments["callingPackage"]
            raise _RemoteException(EX_SECURITY, f"Package {package} does not belong to {SHELL_UID}")
    except _RemoteException as error:
        return dump(exception_reply(error.code, str(error))), 0
    if method.returns != "String":
        return dump(struct.pack("<ii", 0, 0)), 0  # no exception, then false / 0 / null
    number = arguments.get("slotIndex")
    slot = number if isinstance(number, int) else 0
    valid = 0 <= slot < len(phone.identity.imei)
    imei = phone.identity.imei[slot] if valid else None  # PhoneFactory.getPhone: null
    value: str | None = None
    if method.name in ("getDeviceId", "getDeviceIdWithFeature"):
        value = phone.device_id(0)
    elif method.name == PHONE_VENDOR_METHOD:
        value = imei[:14] + SVN if imei else None  # the IMEISV: 16 digits
    elif method.name == "getImeiForSlot":
        value = imei  # Phone.getImei(): the IMEI, also on a CDMA phone
    elif method.name == "getTypeAllocationCodeForSlot":
        value = imei[:8] if imei else None
    elif method.name == "getMeidForSlot":
        value = phone.meid if valid else None
    elif method.name == "getManufacturerCodeForSlot":
        value = phone.meid[:8] if valid and phone.meid else None
    elif method.name == "getDeviceSoftwareVersionForSlot":
        value = SVN if valid else None
    return dump(string_reply(value)), 0


def _arguments(words: list[str]) -> list[Argument]:
    arguments: list[Argument] = []
    pairs = iter(words)
    for kind in pairs:
        value = next(pairs, None)
        if value is None:
            raise ValueError(f"no value after {kind}")
        if kind == "i32":
            try:
                arguments.append(("i32", int(value)))
            except ValueError:
                raise ValueError(f"i32 needs an integer, not {value}") from None
        elif kind == "s16":
            arguments.append(("s16", value))
        else:
            raise ValueError(f"unknown option {kind}")
    return arguments


class _Request:
    """The call's arguments, read in order like a Parcel, but every one must be there."""

    def __init__(self, arguments: list[Argument]) -> None:
        self.arguments = arguments
        self.position = 0

    def _next(self, name: str) -> Argument:
        if self.position >= len(self.arguments):
            raise _RemoteException(
                EX_BAD_PARCELABLE,
                f"the call ends before {name} (argument {self.position + 1})",
            )
        argument = self.arguments[self.position]
        self.position += 1
        return argument

    def int32(self, name: str) -> int:
        kind, value = self._next(name)
        if kind != "i32" or not isinstance(value, int):
            raise _RemoteException(EX_BAD_PARCELABLE, f"{name} is an int, not {kind}")
        return value

    def string(self, name: str) -> str | None:
        kind, value = self._next(name)
        if kind == "i32" and value == NULL_LENGTH:
            return None  # the bytes of a null String
        if kind != "s16" or not isinstance(value, str):
            raise _RemoteException(EX_BAD_PARCELABLE, f"{name} is a String, not {kind} {value}")
        return value

    def unread(self) -> int:
        return sum(len(_encode(argument)) for argument in self.arguments[self.position :])


def _encode(argument: Argument) -> bytes:
    kind, value = argument
    return struct.pack("<i", value) if kind == "i32" else string16(str(value))


def props_sdk(props: Mapping[str, str]) -> int:
    """The SDK a virtual phone's props claim (`ro.build.version.sdk`, else its release)."""
    sdk = android_sdk(
        props.get("ro.build.version.sdk", ""), props.get("ro.build.version.release", "")
    )
    return sdk or DEFAULT_SDK
