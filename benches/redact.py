"""Masking of identifiers in anything a person reads.

Masked output is the default everywhere: reports, findings, the CLI. Enough
of a value is kept that someone holding the rack's devices.yaml can tell
which identifier it was, and not enough to reconstruct it.
"""

from __future__ import annotations

ELLIPSIS = "…"

_LABELS = {
    "imei": "IMEI",
    "iccid": "ICCID",
    "imsi": "IMSI",
    "serial": "serial",
    "wifi_mac": "Wi-Fi MAC",
    "location": "location",
}


def mask(value: str) -> str:
    """Keep the first 4 and last 3 characters of a long value, less of a short one.

    >>> mask("352098100123452")
    '3520…452'
    >>> mask("SIM7P0001")
    'SI…1'
    """
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
