"""The virtual phone's telephony, as the bench's identity harvest reads it over ADB.

`service call iphonesubinfo CODE i32 N s16 TEXT ...` is answered the way
Android's `service` tool prints a binder reply (`parcel.py`), for the
transaction codes of the phone's SDK in the phone's own table
(`iphonesubinfo.py`, written from AOSP, not the bench's): getDeviceId,
getDeviceIdForPhone, getSubscriberId, getIccSerialNumber and, from Android 11,
getIccSerialNumberWithFeature. Like the real service:

- the calling package must be com.android.shell (the shell's uid), else a
  SecurityException;
- an invalid phone id reads phone 0;
- from Android 13 on, arguments the method does not read are a
  BadParcelableException ("Parcel data not fully consumed").

Other codes get binder's "unknown transaction" error: the virtual phone knows
only the methods the bench reads. Arguments are read in the order the method
declares them, as ints and strings; a wrong type is a BadParcelableException
here, where a real phone would misread the bytes.

`cat /sys/class/net/wlan0/address` prints the Wi-Fi MAC. The identity is a
callable, read at every call, so a fault can make the phone report another
IMEI than devices.yaml declares.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

from benches.inventory.models import Identity
from benches.sim.phone.iphonesubinfo import (
    INT_PARAMETERS,
    SDK_BY_RELEASE,
    SERVICE,
    SHELL_PACKAGE,
    Method,
    methods_for,
)
from benches.sim.phone.parcel import dump, exception_reply, string16, string_reply
from benches.sim.phone.shell import Command

WIFI_MAC_FILE = "/sys/class/net/wlan0/address"  # where Android's wlan0 shows its MAC
SHELL_UID = 2000
UNKNOWN_TRANSACTION = 'Result: Parcel(Error: 0xffffffb6 "Not a data message")\n'
EX_SECURITY = -1
EX_BAD_PARCELABLE = -2
ENFORCES_NO_DATA_AVAIL = 33  # Android 13's AIDL stubs reject unread arguments
DEFAULT_SDK = 29  # the virtual phones run Android 10

Argument = tuple[str, int | str]  # ("i32", 0) or ("s16", "com.android.shell")


class _RemoteException(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def telephony_commands(identity: Callable[[], Identity], sdk: int) -> dict[str, Command]:
    """Shell commands for PhoneShell(extra=...): `service` and `cat`."""
    methods = methods_for(sdk)

    def service(args: list[str]) -> tuple[str, int]:
        if len(args) < 3 or args[0] != "call" or not args[2].isdigit():
            return "usage: service call SERVICE CODE [i32 N | s16 STR] ...\n", 1
        if args[1] != SERVICE:
            return f"service: Service {args[1]} does not exist\n", 0
        try:
            request = _Request(_arguments(args[3:]))
        except ValueError as error:
            return f"service: {error}\n", 1
        method = methods.get(int(args[2]))
        if method is None:
            return UNKNOWN_TRANSACTION, 0
        try:
            value = _answer(method, request, identity())
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


def _answer(method: Method, request: _Request, identity: Identity) -> str | None:
    """Read the method's arguments in order, check the caller, and return what it returns."""
    arguments: dict[str, int | str | None] = {
        name: request.int32() if name in INT_PARAMETERS else request.string()
        for name in method.parameters
    }
    package = arguments["callingPackage"]
    if package != SHELL_PACKAGE:
        raise _RemoteException(EX_SECURITY, f"Package {package} does not belong to {SHELL_UID}")
    if method.name == "getDeviceId":
        return _imei(identity, 0)
    if method.name == "getDeviceIdForPhone":
        phone_id = arguments["phoneId"]
        return _imei(identity, phone_id if isinstance(phone_id, int) else 0)
    if method.name == "getSubscriberId":
        return identity.imsi
    # getIccSerialNumber and getIccSerialNumberWithFeature.
    iccid = identity.iccid
    # EF_ICCID holds 20 BCD nibbles: a 19-digit ICCID is padded with the filler F.
    return iccid + "F" if iccid and len(iccid) == 19 else iccid


def _imei(identity: Identity, phone_id: int) -> str | None:
    # PhoneSubInfoController reads phone 0 for a phone id that is out of range.
    return identity.imei[phone_id if 0 <= phone_id < len(identity.imei) else 0]


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
    """The call's arguments, read in order like a Parcel: past the end, 0 and null."""

    def __init__(self, arguments: list[Argument]) -> None:
        self.arguments = arguments
        self.position = 0

    def _next(self, kind: str) -> int | str | None:
        if self.position >= len(self.arguments):
            return None
        found, value = self.arguments[self.position]
        if found != kind:
            raise _RemoteException(EX_BAD_PARCELABLE, f"expected {kind} at {self.position}")
        self.position += 1
        return value

    def int32(self) -> int:
        value = self._next("i32")
        return value if isinstance(value, int) else 0

    def string(self) -> str | None:
        value = self._next("s16")
        return value if isinstance(value, str) else None

    def unread(self) -> int:
        return sum(len(_encode(argument)) for argument in self.arguments[self.position :])


def _encode(argument: Argument) -> bytes:
    kind, value = argument
    return struct.pack("<i", value) if kind == "i32" else string16(str(value))


def props_sdk(props: Mapping[str, str]) -> int:
    """The SDK a virtual phone's props claim (`ro.build.version.sdk`, else its release)."""
    sdk = props.get("ro.build.version.sdk", "").strip()
    if sdk.isdigit() and sdk.isascii():
        return int(sdk)
    release = props.get("ro.build.version.release", "").strip()
    return SDK_BY_RELEASE.get(release) or SDK_BY_RELEASE.get(release.split(".")[0]) or DEFAULT_SDK
