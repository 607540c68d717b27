"""Power over pyserial: relay boards (LCUS frames, ASCII command templates) chosen by
devices.yaml's `driver` from a registry (`boards`), the bench's bank of them (`bank`),
and one phone's power switch built on them (`switch`, the one hard power cycle).
See docs/real-rack.md for wiring a rack."""

from __future__ import annotations

from benches.rack.ports import PortError, open_port
from benches.rack.power.bank import RelayBank
from benches.rack.power.errors import PowerError
from benches.rack.power.lcus import lcus_frame
from benches.rack.power.switch import PowerSwitch

__all__ = ["PortError", "PowerError", "PowerSwitch", "RelayBank", "lcus_frame", "open_port"]
