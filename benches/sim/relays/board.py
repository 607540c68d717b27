"""A virtual relay board on the port devices.yaml names for it.

It speaks what the real board speaks (`board.driver`): LCUS frames, or the
ASCII commands of `board.ascii`, answering `reply` (and a line end) to each
command when the board has one. Bytes that arrive while the bench has the line
at another baud rate than `board.baud` are garbage to a real board, so they are
dropped and counted too.

`on_change(channel, closed)` runs on the port's thread whenever a channel's
state changes, after the reply is sent: the phone behind a relay may take its
time to react, the board does not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from benches.inventory.models import RelayBoard
from benches.sim.relays.parsers import AsciiParser, LcusParser
from benches.sim.serial.base import SerialServeError
from benches.sim.serial.ports import PortEnd

log = logging.getLogger(__name__)


class VirtualRelayBoard:
    def __init__(self, board: RelayBoard, on_change: Callable[[int, bool], None]) -> None:
        self.board = board
        self.on_change = on_change
        self.states: dict[int, bool] = {channel: False for channel in range(1, board.channels + 1)}
        self.garbled_bytes = 0  # bytes received at the wrong baud rate
        self.parser: LcusParser | AsciiParser
        if board.driver == "lcus":
            self.parser = LcusParser(board.channels)
        elif board.driver == "ascii" and board.ascii is not None:
            self.parser = AsciiParser(board.ascii, board.channels)
        else:
            raise SerialServeError(
                f"virtual relay board {board.name}: cannot emulate driver {board.driver!r}"
                + (" without `ascii:` commands" if board.driver == "ascii" else "")
            )
        self._lock = threading.Lock()
        self._end = PortEnd(board.port, self._received, f"virtual relay board {board.name}")

    @property
    def bad_frames(self) -> int:
        return self.parser.bad_frames

    def start(self) -> None:
        self._end.start()

    def stop(self) -> None:
        self._end.stop()

    def _received(self, data: bytes) -> None:
        port = self._end.port
        baud = port.line_baud() if port is not None else None
        if baud is not None and baud != self.board.baud:
            self.garbled_bytes += len(data)
            log.warning(
                "virtual relay board %s: line set to %d baud, the board runs at %d: ignored",
                self.board.name,
                baud,
                self.board.baud,
            )
            return
        with self._lock:
            commands = self.parser.feed(data)
        reply = self.board.ascii.reply if self.board.ascii is not None else None
        for channel, closed in commands:
            changed = self.states[channel] != closed
            self.states[channel] = closed
            if reply is not None and port is not None:
                port.send(f"{reply}\r\n".encode("ascii", "replace"))
            if changed:
                self.on_change(channel, closed)
