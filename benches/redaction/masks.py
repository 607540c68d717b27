"""Masking of identifiers in anything a person reads.

Masked output is the default everywhere: reports, findings, logs, test ids,
file names, the CLI. Enough of a value is kept that someone holding the rack's
devices.yaml can tell which identifier it was, and not enough to reconstruct it.

One switch shows values raw, for an auditor's local run: the environment
variable ``BENCH_SHOW_IDENTIFIERS=1`` (also set by ``--show-identifiers``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

ELLIPSIS = "…"
SHOW_IDENTIFIERS_ENV = "BENCH_SHOW_IDENTIFIERS"
RAW_WARNING = "identifiers are shown raw: do not share this report"

_LABELS = {
    "imei": "IMEI",
    "iccid": "ICCID",
    "imsi": "IMSI",
    "serial": "serial",
    "wifi_mac": "Wi-Fi MAC",
    "location": "location",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def show_raw() -> bool:
    """Whether the auditor's switch is on: ``BENCH_SHOW_IDENTIFIERS=1``."""
    return os.environ.get(SHOW_IDENTIFIERS_ENV, "").strip().lower() in ("1", "true", "yes")


def mask(value: str) -> str:
    """Keep the first 4 and last 3 characters of a long value, less of a short one.

    >>> mask("352098100123452")
    '3520…452'
    >>> mask("SIM7P0001")
    'SI…1'
    """
    return value if show_raw() else masked(value)


def masked(value: str) -> str:
    """:func:`mask`, whatever the switch says."""
    n = len(value)
    if n >= 12:
        return f"{value[:4]}{ELLIPSIS}{value[-3:]}"
    if n >= 6:
        return f"{value[:2]}{ELLIPSIS}{value[-1:]}"
    if n >= 4:
        return f"{value[:1]}{ELLIPSIS}"
    return ELLIPSIS


def identifier_label(kind: str) -> str:
    """How people write an identifier kind: ``"imei"`` → ``"IMEI"``."""
    return _LABELS.get(kind, kind)


# --- phones ----------------------------------------------------------------


@dataclass(frozen=True)
class DeviceLabel:
    """How a phone (``devices[].serial``) is named where people read it."""

    text: str  # "SI…1"; "SI…1#2" when two phones' masks collide (#2: its place in devices.yaml)
    safe: str  # the same in test ids and file names, ASCII: "SI_1", "SI_1_2"


def device_labels(serials: Iterable[str]) -> dict[str, DeviceLabel]:
    """Every phone's label, unique within the rack: ``{serial: DeviceLabel}``."""
    return dict(_labels(tuple(serials), show_raw()))


def use_devices(serials: Iterable[str]) -> None:
    """Name phones by this rack from now on (the plugin and `bench` commands call it)."""
    global _rack_serials
    _rack_serials = tuple(serials)
    _rack_labels.clear()


def device_label(serial: str) -> str:
    """A phone's name for people: ``"SI…1"`` (raw with the switch on)."""
    return _label_of(serial).text


def device_file_label(serial: str) -> str:
    """A phone's name in test ids and file names: ``"SI_1"``."""
    return _label_of(serial).safe


_rack_serials: tuple[str, ...] = ()
_rack_labels: dict[bool, dict[str, DeviceLabel]] = {}  # by show_raw()


def _label_of(serial: str) -> DeviceLabel:
    raw = show_raw()
    labels = _rack_labels.get(raw)
    if labels is None:
        labels = _rack_labels[raw] = _labels(_rack_serials, raw)
    found = labels.get(serial)
    return found if found is not None else _labels((serial,), raw)[serial]


@lru_cache(maxsize=16)
def _labels(serials: tuple[str, ...], raw: bool) -> dict[str, DeviceLabel]:
    texts = [serial if raw else masked(serial) for serial in serials]
    safes = [_UNSAFE.sub("_", text.replace(ELLIPSIS, "_")) for text in texts]
    clashing = {
        i for i in range(len(serials)) if texts.count(texts[i]) > 1 or safes.count(safes[i]) > 1
    }
    labels = _suffixed(serials, texts, safes, clashing)
    if len({label.safe for label in labels.values()}) < len(labels):  # a suffix met a mask
        labels = _suffixed(serials, texts, safes, set(range(len(serials))))
    return labels


def _suffixed(
    serials: tuple[str, ...], texts: list[str], safes: list[str], clashing: set[int]
) -> dict[str, DeviceLabel]:
    labels = {}
    for i, serial in enumerate(serials):
        text, safe = texts[i], safes[i]
        if i in clashing:
            text, safe = f"{text}#{i + 1}", f"{safe}_{i + 1}"
        labels[serial] = DeviceLabel(text, safe)
    return labels
