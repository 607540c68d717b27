"""The virtual rack's cabling: relay channels to phones' supplies and buttons, UARTs to
consoles, and fastboot over TCP for phones in their bootloader.

Each relay board and console devices.yaml declares is served on its declared
port (a pty linked at the path, or a loopback listener), speaking the real
bytes; the bench drives them through pyserial exactly as it drives real ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from benches.inventory.models import Rack
from benches.sim.fastboot.bootloader import VirtualBootloader
from benches.sim.phone.handset import VirtualPhone
from benches.sim.relays.board import VirtualRelayBoard
from benches.sim.serial.uart import VirtualUart

log = logging.getLogger(__name__)

SUPPLY, BUTTON = "supply", "button"


@dataclass(frozen=True)
class Terminal:
    """What one relay channel is wired to."""

    phone: VirtualPhone
    role: str  # SUPPLY or BUTTON


class VirtualWiring:
    def __init__(self, rack: Rack, phones: dict[str, VirtualPhone]) -> None:
        self.terminals: dict[tuple[str, int], Terminal] = {}
        for device in rack.devices:
            phone = phones[device.serial]
            if device.power:
                self.terminals[(device.power.relay, device.power.channel)] = Terminal(phone, SUPPLY)
            if device.power_button:
                link = device.power_button
                self.terminals[(link.relay, link.channel)] = Terminal(phone, BUTTON)
        self.boards = [
            VirtualRelayBoard(board, self._on_change_of(board.name)) for board in rack.bench.relays
        ]
        self.uarts: list[VirtualUart] = []
        for device in rack.devices:
            if device.console:
                uart = VirtualUart(device.console, name=f"console of {device.serial}")
                phones[device.serial].console = uart.write_line
                self.uarts.append(uart)
        self.bootloaders = [
            VirtualBootloader(phones[device.serial], device.fastboot)
            for device in rack.devices
            if device.fastboot and device.fastboot.startswith("tcp:")
        ]
        self._pressed_at: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def powered_by_relay(self, phone: VirtualPhone) -> bool:
        """A phone on a supply relay stays off until the bench closes that channel."""
        return any(t.phone is phone and t.role == SUPPLY for t in self.terminals.values())

    def start(self) -> None:
        for board in self.boards:
            board.start()
        for uart in self.uarts:
            uart.start()

    def stop(self) -> None:
        for board in self.boards:
            board.stop()
        for uart in self.uarts:
            uart.stop()
        for bootloader in self.bootloaders:
            bootloader.leave()

    def _on_change_of(self, board: str) -> Callable[[int, bool], None]:
        def on_change(channel: int, closed: bool) -> None:
            self._on_change(board, channel, closed)

        return on_change

    def _on_change(self, board: str, channel: int, closed: bool) -> None:
        terminal = self.terminals.get((board, channel))
        if terminal is None:
            log.info("relay %s channel %d %s: nothing wired", board, channel, _word(closed))
            return
        phone = terminal.phone
        if terminal.role == SUPPLY:
            (phone.power_restore if closed else phone.power_cut)()
            return
        with self._lock:
            if closed:
                self._pressed_at[(board, channel)] = time.monotonic()
                return
            pressed = self._pressed_at.pop((board, channel), None)
        if pressed is not None:
            phone.press_power_button(time.monotonic() - pressed)


def _word(closed: bool) -> str:
    return "closed" if closed else "opened"
