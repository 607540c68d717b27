"""Serial PDUs and relay boards that take ASCII commands.

devices.yaml gives the board's commands as templates (``"ON {channel}\\r\\n"``).
When it also names a `reply`, every command must be answered with a line that
contains it; anything else is an error naming the board, the command and what
came back, since a PDU that did not acknowledge may not have switched.
"""

from __future__ import annotations

import time

import serial

from benches.inventory.models import AsciiCommands, RelayBoard
from benches.rack.ports import reason
from benches.rack.power.errors import PowerError
from benches.rack.power.lcus import check_channel
from benches.rack.protocols import RelayProtocol

LINE_ENDS = (b"\n", b"\r")


class AsciiDriver(RelayProtocol):
    """Switches the channels of one ASCII board over an open port."""

    def __init__(self, board: RelayBoard, port: serial.SerialBase, timeout: float) -> None:
        if board.ascii is None:
            raise PowerError(f"relay board {board.name}: the ascii driver needs `ascii:` commands")
        self.board = board
        self.commands: AsciiCommands = board.ascii
        self.port = port
        self.timeout = timeout

    def command(self, channel: int, closed: bool) -> str:
        template = self.commands.on if closed else self.commands.off
        try:
            return template.format(channel=channel)
        except (IndexError, KeyError, ValueError) as exc:
            raise PowerError(
                f"relay board {self.board.name}: bad command template {template!r}: {exc}"
            ) from None

    def switch(self, channel: int, closed: bool) -> None:
        check_channel(self.board, channel)
        text = self.command(channel, closed)
        try:
            if self.commands.reply is not None:
                # A late answer to an earlier command must not pass for this one's.
                self.port.reset_input_buffer()
            self.port.write(text.encode("ascii", "replace"))
            self.port.flush()
            answer = self._read_reply() if self.commands.reply is not None else None
        except (serial.SerialException, OSError) as exc:
            raise PowerError(
                f"relay board {self.board.name}: sending {text!r} to {self.board.port} "
                f"failed: {reason(exc)}"
            ) from None
        expected = self.commands.reply
        if expected is not None and (answer is None or expected not in answer):
            got = repr(answer) if answer else "nothing"
            raise PowerError(
                f"relay board {self.board.name}: sent {text!r}, expected a reply with "
                f"{expected!r}, got {got}"
            )

    def _read_reply(self) -> str | None:
        """Read until the reply shows up, a non-empty line ends, or the timeout passes."""
        expected = self.commands.reply
        assert expected is not None
        deadline = time.monotonic() + self.timeout
        received = b""
        while time.monotonic() < deadline:
            received += self.port.read(max(1, self.port.in_waiting))
            text = received.decode("ascii", "replace")
            if expected in text or _has_ended_line(received):
                return text
        return received.decode("ascii", "replace") or None


def _has_ended_line(received: bytes) -> bool:
    stripped = received.lstrip(b"\r\n")
    return any(end in stripped for end in LINE_ENDS)
