"""The rack's identifiers masked in free text: logs, error messages, consoles, Allure results.

Structured output masks values where it makes them (``redact.mask``,
``redact.device_label``). Free text is the net under it: any devices.yaml
identifier value that still shows up in a message, a log line or a console
line is replaced as it appears, a phone's serial by its label ("SI…1"), any
other identifier by its mask ("3520…452"). With ``BENCH_SHOW_IDENTIFIERS=1``
text is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from benches.inventory.models import Rack
from benches.redaction import log_records as log_masking
from benches.redaction.masks import device_label, mask, show_raw, use_devices
from benches.redaction.safe_files import read_file, write_file

# Shorter values would match all over unrelated text ("0001"); a mask of one
# hides it whole anyway.
MIN_SCRUBBED = 4


class RackMasker:
    """Replaces every identifier value of one rack in text, case-insensitively."""

    def __init__(self, rack: Rack) -> None:
        self._devices: dict[str, str] = {}  # lower-case serial → serial
        values: set[str] = set()
        for device in rack.devices:
            self._devices[device.serial.lower()] = device.serial
            identity = device.identity
            values.update(identity.imei)
            values.update(v for v in (identity.iccid, identity.imsi, identity.serial) if v)
            for mac in (identity.wifi_mac, device.network.mac):
                values.update(mac_forms(mac) if mac else ())
        for fault in rack.virtual.faults if rack.virtual else ():
            values.update(fault.imei)
        values.update(self._devices.values())
        wanted = sorted((v for v in values if len(v) >= MIN_SCRUBBED), key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(map(re.escape, wanted)), re.IGNORECASE) if wanted else None
        )

    def scrub(self, text: str) -> str:
        if self._pattern is None or show_raw():
            return text
        return self._pattern.sub(self._replacement, text)

    def _replacement(self, match: re.Match[str]) -> str:
        found = match.group(0)
        serial = self._devices.get(found.lower())
        return device_label(serial) if serial is not None else mask(found)


def mac_forms(mac: str) -> tuple[str, ...]:
    """A MAC as people and tools write it: 02:00:…, 02-00-…, 0200….

    Case does not matter: the masker ignores it.
    """
    digits = re.sub(r"[^0-9A-Fa-f]", "", mac)
    if len(digits) != 12:
        return (mac,)
    pairs = [digits[i : i + 2] for i in range(0, 12, 2)]
    return (":".join(pairs), "-".join(pairs), digits)


_active: RackMasker | None = None


def use_rack(rack: Rack) -> None:
    """From now on, name phones by this rack and mask its identifiers in every log record."""
    global _active
    use_devices(device.serial for device in rack.devices)
    _active = RackMasker(rack)
    log_masking.install(scrub_text)


def forget_rack() -> None:
    """Undo :func:`use_rack` (the end of a pytest session, a test)."""
    global _active
    _active = None
    use_devices(())
    log_masking.uninstall()


def scrub_text(text: str) -> str:
    """``text`` with the rack in use's identifiers masked; unchanged without one."""
    masker = _active
    return text if masker is None else masker.scrub(text)


def scrub_file(path: Path) -> None:
    """Mask a text file in place (a recorded console); its mode stays.

    A link at ``path`` is neither read nor written through (``UnsafePath``).
    """
    try:
        text = read_file(path).decode("utf-8", errors="surrogateescape")
        mode = stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return
    scrubbed = scrub_text(text)
    if scrubbed != text:
        data = scrubbed.encode("utf-8", errors="surrogateescape")
        write_file(path, data, root=path.parent, mode=mode)


def scrub_exception(error: BaseException) -> None:
    """Mask an exception's message in place, and those of its causes, before anyone prints it."""
    for link in _chain(error):
        link.args = tuple(scrub_text(a) if isinstance(a, str) else a for a in link.args)
        message = getattr(link, "msg", None)  # pytest's fail() keeps its text here
        if isinstance(message, str):
            with contextlib.suppress(AttributeError):  # a read-only property
                link.msg = scrub_text(message)  # type: ignore[attr-defined]


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        pending += [e for e in (link.__cause__, link.__context__) if e is not None]
