"""Cycles: one scripted event sequence on one phone, inside one capture window.

`run_boot_cycle`, `run_unlock_cycle`, `run_activation_cycle` and
`run_idle_cycle` share one signature: (phone, gateway, timings, index, power=None,
attempt=1), where `power` is the phone's relays (`benches.rack.protocols.PhonePower`,
e.g. `benches.rack.power.PowerSwitch`) when it has any and `attempt` is 2 when the
cycle runs again after a recovery. A phone that fails mid-cycle raises
`CycleInterrupted`, which carries the partial record.

The package holds, in the order a cycle meets them: `window` (the capture window:
the capture, the console and logcat recorded around it, the canaries, the
timeline), `kinds` (the four cycles; a boot restarts the phone with its one hard
power cycle, or `adb reboot`), `record` (what a cycle leaves behind), `timeline`
(placing packets on it), `preflight` (is it the build and the phone under test)
and `recovery` (Trade Federation's chain for a phone that stopped answering).
"""

from __future__ import annotations

from benches.cycles.kinds import (
    run_activation_cycle,
    run_boot_cycle,
    run_idle_cycle,
    run_unlock_cycle,
)
from benches.cycles.record import (
    ADB_REBOOT,
    CANARY_DOMAIN,
    RELAY,
    CycleInterrupted,
    CycleRecord,
    Event,
    new_canary,
)
from benches.cycles.window import CycleWindow

CYCLES = {
    "boot": run_boot_cycle,
    "unlock": run_unlock_cycle,
    "activation": run_activation_cycle,
    "idle": run_idle_cycle,
}
# The order a phone meets them in (the 2019 client fired at power-on, unlock and
# activation): sign-off tests run in it, and the summary's columns read in it.
CYCLE_ORDER = tuple(CYCLES)


def cycle_rank(kind: str | None) -> int:
    """The kind's place in CYCLE_ORDER; a kind not in it comes after them all."""
    return CYCLE_ORDER.index(kind) if kind in CYCLE_ORDER else len(CYCLE_ORDER)


__all__ = [
    "ADB_REBOOT",
    "CANARY_DOMAIN",
    "CYCLES",
    "CYCLE_ORDER",
    "RELAY",
    "CycleInterrupted",
    "CycleRecord",
    "CycleWindow",
    "Event",
    "cycle_rank",
    "new_canary",
    "run_activation_cycle",
    "run_boot_cycle",
    "run_idle_cycle",
    "run_unlock_cycle",
]
