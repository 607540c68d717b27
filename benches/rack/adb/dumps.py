"""What the bench reads out of `dumpsys` and system properties, Android 10 to 14.

Only fields that have kept their name and meaning across those releases are
read (AOSP sources; docs/architecture.md says why each):

* `dumpsys power`: `mWakefulness=` (Awake, Asleep, Dreaming, Dozing); the
  screen is on for the user only when Awake.
* `dumpsys window policy`: the `KeyguardServiceDelegate` block's `showing=`,
  printed by the window manager's policy since Android 5. Older and OEM dumps
  without it still have `isStatusBarKeyguard=` (8 to 11) or
  `mShowingLockscreen=` (up to 7), read in that order.
* `dumpsys connectivity`: `Active default network: <netId>` (or `none`).
* `gsm.sim.state`: a comma-separated state per SIM slot; READY is a usable SIM.

Each reader returns None when the field is missing, so a caller can fail
closed instead of guessing.
"""

from __future__ import annotations

import re

_KEYGUARD_FALLBACKS = (
    re.compile(r"isStatusBarKeyguard=(true|false)"),
    re.compile(r"mShowingLockscreen=(true|false)"),
)
_DELEGATE_SHOWING = re.compile(r"^\s*showing=(true|false)\s*$", re.MULTILINE)


def wakefulness(power_dump: str) -> str | None:
    match = re.search(r"mWakefulness=(\w+)", power_dump)
    return match.group(1) if match else None


def keyguard_showing(window_policy_dump: str) -> bool | None:
    delegate = window_policy_dump.find("KeyguardServiceDelegate")
    if delegate >= 0:
        match = _DELEGATE_SHOWING.search(window_policy_dump, delegate)
        if match:
            return match.group(1) == "true"
    for pattern in _KEYGUARD_FALLBACKS:
        match = pattern.search(window_policy_dump)
        if match:
            return match.group(1) == "true"
    return None


def default_network(connectivity_dump: str) -> str | None:
    """The default network's id, or None when there is none (or the dump does not say)."""
    match = re.search(r"Active default network: (\d+)", connectivity_dump)
    return match.group(1) if match else None


def sim_ready(sim_state: str) -> bool:
    return "READY" in (slot.strip() for slot in sim_state.split(","))
