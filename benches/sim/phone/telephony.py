"""The virtual phone's telephony, as the bench's identity harvest reads it over ADB.

`service call iphonesubinfo CODE i32 N s16 TEXT ...` is answered the way
Android's `service` tool prints a binder reply (libbinder's HexDump of the
reply Parcel), for the transaction codes benches/rack/identity/iphonesubinfo.py gives the
phone's SDK: getDeviceId, getDeviceIdForPhone, getSubscriberId and
getIccSerialNumber. Like the real service:

- the calling package must be com.android.shell (the shell's uid), else a
  SecurityException;
- an invalid phone id reads phone 0;
- from Android 13 on, arguments the method does not read are a
  BadParcelableException ("Parcel data not fully consumed").

Other codes get binder's "unknown transaction" error: the virtual phone knows
only the methods the bench uses. Arguments are read in order as ints and
strings; a wrong type is a BadParcelableException here, where a real phone
would misread the bytes.

`cat /sys/class/net/wlan0/address` prints the Wi-Fi MAC. The identity is a
callable, read at every call, so a fault can make the phone report another
IMEI than devices.yaml declares.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

from benches.inventory.models import Identity
from benches.rack.identity.harvest import WIFI_MAC_FILE
from benches.rack.identity.iphonesubinfo import (
    CODES_BY_SDK,
    GET_DEVICE_ID,
    SERVICE,
    SHELL_PACKAGE,
    android_sdk,
    codes_for,
)
from benches.sim.phone.shell import Command

SHELL_UID = 2000
UNKNOWN_TRANSACTION = 'Result: Parcel(Error: 0xffffffb6 "Not a data message")\n'
EX_SECURITY = -1
EX_BAD_PARCELABLE = -2
ENFORCES_NO_DATA_AVAIL = 33  # Android 13's AIDL stubs reject unread arguments

Argument = tuple[str, int | str]  # ("i32", 0) or ("s16", "com.android.shell")


class _RemoteException(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def telephony_commands(identity: Callable[[], Identity], sdk: int) -> dict[str, Command]:
    """Shell commands for PhoneShell(extra=...): `service` and `cat`."""
    codes = codes_for(sdk)
    with_feature = sdk >= 30  # Android 11 added callingFeatureId to these methods

    def device_id(request: _Request) -> str | None:
        _check_package(request.string())
        if with_feature:
            request.string()
        return _imei(identity(), 0)

    def device_id_for_phone(request: _Request) -> str | None:
        phone_id = request.int32()
        _check_package(request.string())
        if with_feature:
            request.string()
        return _imei(identity(), phone_id)

    def subscriber_id(request: _Request) -> str | None:
        _check_package(request.string())
        return identity().imsi

    def icc_serial_number(request: _Request) -> str | None:
        _check_package(request.string())
        iccid = identity().iccid
        # EF_ICCID holds 20 BCD nibbles: a 19-digit ICCID is padded with the filler F.
        return iccid + "F" if iccid and len(iccid) == 19 else iccid

    methods: dict[int, Callable[[_Request], str | None]] = {
        GET_DEVICE_ID: device_id,
        codes.device_id_for_phone: device_id_for_phone,
        codes.subscriber_id: subscriber_id,
        codes.icc_serial_number: icc_serial_number,
    }

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
            value = method(request)
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


def _imei(identity: Identity, phone_id: int) -> str | None:
    # PhoneSubInfoController reads phone 0 for a phone id that is out of range.
    return identity.imei[phone_id if 0 <= phone_id < len(identity.imei) else 0]


def _check_package(package: str | None) -> None:
    if package != SHELL_PACKAGE:
        raise _RemoteException(EX_SECURITY, f"Package {package} does not belong to {SHELL_UID}")


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
    return struct.pack("<i", value) if kind == "i32" else _string16(str(value))


def _string16(value: str | None) -> bytes:
    if value is None:
        return struct.pack("<i", -1)
    units = value.encode("utf-16-le")
    data = struct.pack("<i", len(units) // 2) + units + b"\0\0"
    return data + b"\0" * (-len(data) % 4)


def string_reply(value: str | None) -> bytes:
    """The reply Parcel of a method that returns a String: no exception, then the String16."""
    return struct.pack("<i", 0) + _string16(value)


def exception_reply(code: int, message: str) -> bytes:
    """Parcel.writeException: the code, the message, then an empty stack-trace header."""
    return struct.pack("<i", code) + _string16(message) + struct.pack("<i", 0)


def dump(parcel: bytes) -> str:
    """`service call`'s output: "Result: " and the Parcel as libbinder's HexDump prints it."""
    return f"Result: Parcel({hexdump(parcel)})\n"


def hexdump(data: bytes) -> str:
    """16 bytes a line as little-endian words, then the printable bytes; one line up to 16 bytes."""
    if not data:
        return "NULL"
    if len(data) <= 16:
        words = _words(data)
        return " ".join(words) + " " * (4 - len(words)) + f" '{_printable(data)}'"
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        words = _words(chunk) + [" " * 8] * (4 - (len(chunk) + 3) // 4)
        lines.append(f"  0x{offset:08x}: {' '.join(words)} '{_printable(chunk).ljust(16)}'")
    return "\n" + "\n".join(lines)


def _words(data: bytes) -> list[str]:
    return [f"{int.from_bytes(data[i : i + 4], 'little'):08x}" for i in range(0, len(data), 4)]


def _printable(data: bytes) -> str:
    return "".join(chr(byte) if 32 <= byte < 127 else "." for byte in data)


def props_sdk(props: Mapping[str, str]) -> int:
    """The SDK a virtual phone's props claim (`ro.build.version.sdk`, else its release)."""
    sdk = android_sdk(
        props.get("ro.build.version.sdk", ""), props.get("ro.build.version.release", "")
    )
    return sdk if sdk is not None else min(CODES_BY_SDK)
