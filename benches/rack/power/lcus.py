"""The CH340 "LCUS-1/2/4/8" USB relay boards' protocol.

Every command is one 4-byte frame: 0xA0, the channel (1-based), the state
(0x01 closes the relay, 0x00 opens it) and a checksum, the low byte of the sum
of the first three. The boards answer nothing. (Some variants answer a 0xFF
status query; the bench does not rely on it, since most do not.)
"""

from __future__ import annotations

import serial

from benches.inventory.models import RelayBoard
from benches.rack.ports import reason
from benches.rack.power.errors import PowerError
from benches.rack.protocols import RelayProtocol

START = 0xA0
CLOSE = 0x01
OPEN = 0x00


def lcus_frame(channel: int, closed: bool) -> bytes:
    """The frame that closes (`closed`) or opens `channel`: channel 1 on is A0 01 01 A2."""
    if not 1 <= channel <= 0xFF:
        raise ValueError(f"an LCUS channel is 1-255, not {channel}")
    state = CLOSE if closed else OPEN
    return bytes((START, channel, state, (START + channel + state) & 0xFF))


class LcusDriver(RelayProtocol):
    """Switches the channels of one LCUS board over an open port."""

    def __init__(self, board: RelayBoard, port: serial.SerialBase, timeout: float = 0.0) -> None:
        # `timeout` is the port's, already set: LCUS boards answer nothing to wait for.
        self.board = board
        self.port = port

    def switch(self, channel: int, closed: bool) -> None:
        check_channel(self.board, channel)
        frame = lcus_frame(channel, closed)
        try:
            written = self.port.write(frame)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise PowerError(
                f"relay board {self.board.name}: writing {frame.hex(' ')} to "
                f"{self.board.port} failed: {reason(exc)}"
            ) from None
        if written is not None and written != len(frame):
            raise PowerError(
                f"relay board {self.board.name}: only {written} of {len(frame)} bytes "
                f"of {frame.hex(' ')} reached {self.board.port}"
            )


def check_channel(board: RelayBoard, channel: int) -> None:
    if not 1 <= channel <= board.channels:
        raise PowerError(f"relay board {board.name} has channels 1-{board.channels}, not {channel}")
