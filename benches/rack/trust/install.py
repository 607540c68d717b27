"""The bench's CA into a phone's system store over adb, on userdebug or rooted builds.

Up to Android 13 (API 33) the system store is ``/system/etc/security/cacerts``:
the bench restarts adbd as root (`adb root`), makes /system writable
(`adb remount`), and pushes the CA there as ``<subject_hash_old>.0``, mode 0644;
it stays across reboots. From Android 14 conscrypt reads the CAs from its APEX,
which no remount makes writable; HTTP Toolkit's method (a tmpfs over the store,
bind-mounted into zygote's mount namespace) lasts only until the next reboot,
so the bench does not use it yet: such a phone is refused with one line.
"""

from __future__ import annotations

import time

from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.trust.authority import CertificateUnreadable, android_ca_name

SYSTEM_STORE = "/system/etc/security/cacerts"
LAST_SYSTEM_STORE_SDK = 33
CA_MODE = 0o644


class TrustError(RuntimeError):
    """The phone cannot be made to trust the bench's CA; one line naming the phone."""


def install_ca(phone: Phone, pem: bytes, timeout: float = 30.0) -> str:
    """The phone's path of the installed CA; TrustError when it cannot be installed."""
    try:
        name = android_ca_name(pem)
    except CertificateUnreadable as error:
        raise TrustError(f"the bench's CA: {error}") from None
    try:
        if phone.getprop("ro.debuggable") != "1":
            raise TrustError(
                f"{phone.label}: a user build (ro.debuggable=0): the bench's CA needs a "
                "userdebug or rooted build"
            )
        sdk_text = phone.getprop("ro.build.version.sdk")
        sdk = int(sdk_text) if sdk_text.isdigit() else 0
        if sdk > LAST_SYSTEM_STORE_SDK:
            raise TrustError(
                f"{phone.label}: Android API {sdk} reads its CAs from the conscrypt APEX, "
                "where the bench cannot install its CA yet"
            )
        _as_root(phone, timeout)
        answer = phone.service("remount:")
        if "succeeded" not in answer:
            raise TrustError(f"{phone.label}: adb remount: {_first_line(answer)}")
        path = f"{SYSTEM_STORE}/{name}"
        phone.push(pem, path, CA_MODE)
        if phone.file_size(path) != len(pem):
            raise TrustError(f"{phone.label}: the CA pushed to {path} is not there")
        return path
    except PhoneError as error:
        raise TrustError(str(error)) from None


def _as_root(phone: Phone, timeout: float) -> None:
    answer = phone.service("root:")
    if "cannot run as root" in answer:
        raise TrustError(f"{phone.label}: adb root: {_first_line(answer)}")
    if "restarting" in answer:
        _wait_for_device(phone, timeout)


def _wait_for_device(phone: Phone, timeout: float) -> None:
    """adbd restarts as root: the phone drops off adb and comes back."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        phone.reconnect()
        if phone.state() == "device":
            try:
                if phone.shell(["id", "-u"]).strip() == "0":
                    return
            except PhoneError:
                pass
        time.sleep(0.2)
    raise TrustError(f"{phone.label}: adbd did not come back as root within {timeout:g}s")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no answer"
