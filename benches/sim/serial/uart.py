"""A virtual phone's UART console, on the port devices.yaml names for it.

The phone prints its boot log with `write_line()`. Like a real UART, nothing
is kept while no one has the port open, and printing never blocks the phone.
A line set to another baud rate than the console's reads as garbage, as it
would on a real one.
"""

from __future__ import annotations

from benches.inventory.models import SerialConsole
from benches.sim.serial.ports import PortEnd


class VirtualUart:
    def __init__(self, console: SerialConsole, name: str = "virtual console") -> None:
        self.console = console
        self.name = name
        self._end = PortEnd(console.port, self._ignore_input, name)

    def start(self) -> None:
        self._end.start()

    def stop(self) -> None:
        self._end.stop()

    def write_line(self, text: str) -> None:
        """Print one line, ended with CR LF as consoles do."""
        self.write(text + "\r\n")

    def write(self, text: str) -> None:
        """Print text as it is (a prompt, or a line not yet ended)."""
        self.write_bytes(text.encode("utf-8", "replace"))

    def write_bytes(self, data: bytes) -> None:
        """Print raw bytes (a real console shows line noise at power-on, for one)."""
        port = self._end.port
        if port is None:
            return
        baud = port.line_baud()
        if baud is not None and baud != self.console.baud:
            data = garble(data)
        port.send(data)

    @staticmethod
    def _ignore_input(data: bytes) -> None:
        """What the bench types into the console; the virtual phones run no login shell."""


def garble(data: bytes) -> bytes:
    """Bytes as a receiver at the wrong baud rate might see them: no longer text."""
    return bytes((byte * 7 + 0x80) & 0xFF for byte in data)
