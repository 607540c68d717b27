"""The relay boards the bench drives, by devices.yaml's `driver` name.

A board's driver is built from the board's entry, its open port and the
bench's serial timeout. A new kind of board is one module with its driver
class (meeting `benches.rack.protocols.RelayProtocol`) and one line here;
the inventory's list of the names devices.yaml may use
(`benches.inventory.hardware.RELAY_DRIVERS`) must name it too (a test
checks that the two agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import serial

from benches.inventory.models import RelayBoard
from benches.rack.power.ascii_board import AsciiDriver
from benches.rack.power.lcus import LcusDriver
from benches.rack.protocols import RelayProtocol

RelayDriverClass = Callable[[RelayBoard, serial.SerialBase, float], RelayProtocol]

RELAY_BOARDS: Mapping[str, RelayDriverClass] = {
    "lcus": LcusDriver,  # CH340 LCUS-1/2/4/8 USB boards: 4-byte frames, no answer
    "ascii": AsciiDriver,  # serial PDUs and boards that take text commands
}
