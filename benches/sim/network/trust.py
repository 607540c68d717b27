"""What a virtual phone's TLS clients trust: exactly the CA files in its system store.

The store is a folder of the phone's own file tree, where Android keeps
it: ``/system/etc/security/cacerts`` up to Android 13 (API 33), the conscrypt
APEX's ``/apex/com.android.conscrypt/cacerts`` from Android 14. Every file in it
is read as PEM when a connection starts, so a CA pushed over adb counts from
the next connection on. Names are verified; ALPN offers h2 and http/1.1.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

SYSTEM_STORE = "/system/etc/security/cacerts"
APEX_STORE = "/apex/com.android.conscrypt/cacerts"
FIRST_APEX_SDK = 34
MAX_CA_FILE = 64 * 1024  # a CA certificate is a few kB; more is not one
ALPN = ["h2", "http/1.1"]


def store_path(sdk: int) -> str:
    """The phone's path of the CA store its API level reads."""
    return APEX_STORE if sdk >= FIRST_APEX_SDK else SYSTEM_STORE


class TrustStore:
    def __init__(self, resolve: Callable[[str], Path], sdk: Callable[[], int]) -> None:
        """`resolve`: a phone path to where it is on this host (through the phone's mounts)."""
        self._resolve = resolve
        self._sdk = sdk

    @property
    def folder(self) -> Path:
        return self._resolve(store_path(self._sdk()))

    def context(self) -> ssl.SSLContext:
        """A client context trusting the store's CAs and nothing else."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and name
        cadata = "".join(_pem_files(self.folder))
        if cadata:
            context.load_verify_locations(cadata=cadata)
        context.set_alpn_protocols(ALPN)
        return context


def empty_context() -> ssl.SSLContext:
    """A store with no CA in it: every server is refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_alpn_protocols(ALPN)
    return context


def pinned_context(pem: bytes) -> ssl.SSLContext:
    """An app's own pin: it trusts the CA it ships, whatever the system store says."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=pem.decode("ascii"))
    context.set_alpn_protocols(ALPN)
    return context


def _pem_files(folder: Path) -> list[str]:
    texts = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            if not entry.is_file() or entry.stat().st_size > MAX_CA_FILE:
                continue
            text = entry.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        if "-----BEGIN CERTIFICATE-----" in text:
            texts.append(text if text.endswith("\n") else text + "\n")
    return texts
