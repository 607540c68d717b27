"""The phones' identities for the evidence pack: hashed, never raw.

Each value is stored as SHA-256 of "kind:value" (UTF-8, the value as
devices.yaml writes it). Whoever holds a phone's identity can check it was on
the bench; the pack itself does not show it.

A hash does not keep a 15-digit IMEI secret: its first 8 digits (the TAC) are
public per model and the last is a check digit, which leaves about a million
candidates, tried in well under a second. ICCIDs, IMSIs and serials fall the
same way with a little more work. The hashes are for matching, not secrecy:
keep the pack with the pcaps, owner-only.
"""

from __future__ import annotations

import hashlib
from typing import Any

from benches.inventory.models import Rack
from benches.redaction.masks import device_labels

HASHING = 'SHA-256 of "kind:value" (UTF-8), lowercase hex'
CAVEAT = (
    "Not secret: a 15-digit IMEI (public 8-digit TAC, Luhn check digit) leaves about "
    "10^6 candidates and is brute-forced in under a second; ICCID, IMSI and serials "
    "likewise. The hashes let someone holding an identity check it; keep this file "
    "owner-only, like the pcaps."
)


def identity_hash(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def identity_hashes(rack: Rack) -> dict[str, Any]:
    phones = []
    labels = device_labels(device.serial for device in rack.devices)
    for slot, device in enumerate(rack.devices, start=1):
        identity = device.identity
        values = [("bench_serial", device.serial)]
        values += [("imei", imei) for imei in identity.imei]
        values += [
            (kind, value)
            for kind, value in (
                ("iccid", identity.iccid),
                ("imsi", identity.imsi),
                ("serial", identity.serial),
                ("wifi_mac", identity.wifi_mac),
            )
            if value
        ]
        phones.append(
            {
                "phone": slot,
                "device": labels[device.serial].text,
                "model": device.model,
                "identities": [{"kind": k, "sha256": identity_hash(k, v)} for k, v in values],
            }
        )
    return {"hashing": HASHING, "caveat": CAVEAT, "phones": phones}
