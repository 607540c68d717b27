"""What a phone says about itself: the identity the harvest read, for the check to compare.

A leaf: the harvest (harvest.py) builds it and the check (check.py) reads it,
and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HarvestedIdentity:
    imei: tuple[str, ...]
    iccid: str | None
    imsi: str | None
    serial: str | None
    wifi_mac: str | None
    # Which command gave each value: "imei[0]", "imei[1]", "iccid", ... → the command line.
    sources: dict[str, str]
    # Why the phone gave no value, for the fields it gave none for.
    missing: dict[str, str] = field(default_factory=dict)
    sdk: int | None = None  # the API level the transaction codes were chosen for
    # CDMA device ids a slot gave instead of an IMEI (an MEID: 14 hex digits); never an IMEI.
    meid: tuple[str, ...] = ()
