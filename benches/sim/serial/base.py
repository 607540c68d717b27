"""What every served serial port offers, whatever carries it (a pty, or TCP).

`on_data(bytes)` gets what the bench wrote, on the port's own thread. `send()`
goes the other way and never blocks: with no one listening, or a full buffer,
the bytes are dropped, as a UART's are when nothing reads the line.
`line_baud()` is the baud rate the bench set (None where the line has none,
as on socket://), so an emulator can garble a line set to the wrong speed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_S = 0.1

DataSink = Callable[[bytes], None]


class SerialServeError(RuntimeError):
    """A virtual port could not be served; the message is one line."""


class ServedPort:
    """What every served port offers; see the module's docstring."""

    def __init__(self, port: str, on_data: DataSink, name: str) -> None:
        self.port = port
        self.on_data = on_data
        self.name = name

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def line_baud(self) -> int | None:
        return None


def deliver(on_data: DataSink, data: bytes, name: str) -> None:
    """Hand bytes to the emulator; a bug there is logged, and the port keeps serving."""
    try:
        on_data(data)
    except Exception:
        log.exception("%s: the emulator failed on %r", name, data[:64])
