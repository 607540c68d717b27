"""Power over pyserial: relay boards (LCUS frames, ASCII command templates) and one
phone's power switch built on them. See docs/real-rack.md for wiring a rack."""

from __future__ import annotations

from benches.power.bank import RelayBank
from benches.power.errors import PowerError
from benches.power.lcus import lcus_frame
from benches.power.ports import PortError, open_port
from benches.power.switch import PowerSwitch

__all__ = ["PortError", "PowerError", "PowerSwitch", "RelayBank", "lcus_frame", "open_port"]
