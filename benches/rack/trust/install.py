"""The bench's CA into a phone's system store over adb, on userdebug or rooted builds.

Up to Android 13 (API 33) the system store is ``/system/etc/security/cacerts``:
the bench restarts adbd as root (`adb root`), makes /system writable
(`adb remount`), and pushes the CA there as ``<subject_hash_old>.0``, mode 0644;
it stays across reboots.

From Android 14 conscrypt reads the CAs from its APEX
(``/apex/com.android.conscrypt/cacerts``), which no remount makes writable. The
bench uses HTTP Toolkit's method: the CA pushed to /data/local/tmp, a tmpfs over
/system/etc/security/cacerts holding the APEX store's CAs and the bench's, and
that folder bind-mounted over the APEX store inside zygote's mount namespaces
(`nsenter`), so apps zygote forks from then on trust it. It lasts until the next
reboot: `install_ca` is called again before each cycle, and TLS an app opens
before that (at boot) meets a certificate it does not trust.

Every command goes as an argument list (adbutils quotes each word); the CA file
names come from the phone's `ls` and are checked before use.
"""

from __future__ import annotations

import re
import time

from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.trust.authority import CertificateUnreadable, android_ca_name

SYSTEM_STORE = "/system/etc/security/cacerts"
APEX_STORE = "/apex/com.android.conscrypt/cacerts"
STAGING = "/data/local/tmp"
CA_FILE = re.compile(r"[0-9a-f]{8}\.[0-9]+")
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
            return _install_in_apex(phone, pem, name, timeout)
        if phone.file_size(f"{SYSTEM_STORE}/{name}") == len(pem):
            return f"{SYSTEM_STORE}/{name}"  # installed before, and it stays
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


def _install_in_apex(phone: Phone, pem: bytes, name: str, timeout: float) -> str:
    if name in _names(phone, SYSTEM_STORE):
        return f"{APEX_STORE}/{name}"  # mounted since the last reboot
    _as_root(phone, timeout)
    staged = f"{STAGING}/{name}"
    phone.push(pem, staged, CA_MODE)
    present = [n for n in _names(phone, APEX_STORE) if n != name]
    _quiet(phone, ["mount", "-t", "tmpfs", "tmpfs", SYSTEM_STORE])
    if present:
        _quiet(phone, ["cp", *(f"{APEX_STORE}/{n}" for n in present), f"{SYSTEM_STORE}/"])
    _quiet(phone, ["cp", staged, f"{SYSTEM_STORE}/"])
    installed = [f"{SYSTEM_STORE}/{n}" for n in [*present, name]]
    _quiet(phone, ["chown", "root:root", *installed])
    _quiet(phone, ["chmod", "644", *installed])
    _quiet(phone, ["chcon", "u:object_r:system_file:s0", *installed])
    zygotes = [pid for pid in phone.shell(["pidof", "zygote", "zygote64"]).split() if pid.isdigit()]
    if not zygotes:
        raise TrustError(f"{phone.label}: no zygote process to bind the CA store into")
    for pid in zygotes:
        _quiet(
            phone,
            ["nsenter", f"--mount=/proc/{pid}/ns/mnt", "--", "/bin/mount", "--bind"]
            + [SYSTEM_STORE, APEX_STORE],
        )
    if name not in _names(phone, SYSTEM_STORE):
        raise TrustError(f"{phone.label}: the CA is not in the mounted store {SYSTEM_STORE}")
    return f"{APEX_STORE}/{name}"


def _names(phone: Phone, folder: str) -> list[str]:
    """The CA file names in `folder` (only names Android gives CA files)."""
    return [word for word in phone.shell(["ls", folder]).split() if CA_FILE.fullmatch(word)]


def _quiet(phone: Phone, args: list[str]) -> None:
    """A command that says nothing when it works (mount, cp, chmod ...)."""
    said = phone.shell(args).strip()
    if said:
        raise TrustError(f"{phone.label}: `{args[0]}` failed: {_first_line(said)}")


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
