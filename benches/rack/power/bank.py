"""The bench's relay boards, shared by every phone wired to them.

Several phones hang off one board, so the bank opens one port per board per
session, lazily (a rack whose relays are never used needs no board plugged in),
and serialises the commands to a board with a lock. `close()` at session end
closes every port. A bank `shared` with other processes (a parallel sign-off's
workers) opens a board's port for each command instead, under the port's
cross-process lock (benches.rack.port_lock), and closes it straight after.
Each action is logged at INFO: board, channel, on or off and
what it was for.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import serial

from benches.inventory.models import RelayBoard, RelayLink
from benches.rack.port_lock import port_owned
from benches.rack.ports import open_port
from benches.rack.power.boards import RELAY_BOARDS
from benches.rack.power.errors import PowerError
from benches.rack.protocols import RelayProtocol

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 1.0


class BoardSlot:
    """One board: its lock, and its port and driver while open."""

    def __init__(self, board: RelayBoard) -> None:
        self.board = board
        self.lock = threading.Lock()
        self.port: serial.SerialBase | None = None
        self.driver: RelayProtocol | None = None


class RelayBank:
    """The relay boards of one bench (``Bench.relays``), opened on first use."""

    def __init__(
        self,
        relays: tuple[RelayBoard, ...],
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        shared: bool = False,
    ) -> None:
        self.timeout = timeout
        self.shared = shared
        self._slots = {board.name: BoardSlot(board) for board in relays}
        self._closed = False

    def switch(self, link: RelayLink, closed: bool, purpose: str = "") -> None:
        """Close (`closed`) or open channel `link.channel` of board `link.relay`."""
        slot = self._slots.get(link.relay)
        if slot is None:
            known = ", ".join(self._slots) or "none"
            raise PowerError(f"no relay board named {link.relay} on this bench (boards: {known})")
        state = "on" if closed else "off"
        owned = port_owned(slot.board.port) if self.shared else contextlib.nullcontext()
        with slot.lock, owned:
            if self._closed:
                raise PowerError(f"relay board {link.relay}: the bench's relays are closed")
            driver = self._driver(slot)
            log.info(
                "relay board %s channel %d %s%s",
                link.relay,
                link.channel,
                state,
                f" ({purpose})" if purpose else "",
            )
            try:
                driver.switch(link.channel, closed)
            except PowerError:
                # A port that failed once (unplugged, ser2net restarted) is reopened next time.
                self._close_slot(slot)
                raise
            if self.shared:  # the next owner may be another process
                self._close_slot(slot)

    def close(self) -> None:
        """Close every open port; the bank refuses to switch anything afterwards."""
        self._closed = True
        for slot in self._slots.values():
            with slot.lock:
                self._close_slot(slot)

    def _driver(self, slot: BoardSlot) -> RelayProtocol:
        if slot.driver is not None:
            return slot.driver
        board = slot.board
        driver_class = RELAY_BOARDS.get(board.driver)
        if driver_class is None:
            raise PowerError(f"relay board {board.name}: unknown driver {board.driver!r}")
        port = open_port(
            board.port,
            board.baud,
            self.timeout,
            owner=f"relay board {board.name}",
            error=PowerError,
        )
        try:
            driver = driver_class(board, port, self.timeout)
        except PowerError:  # the board's entry does not fit its driver
            port.close()
            raise
        slot.port, slot.driver = port, driver
        return driver

    @staticmethod
    def _close_slot(slot: BoardSlot) -> None:
        port, slot.port, slot.driver = slot.port, None, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.warning("relay board %s: closing %s: %s", slot.board.name, slot.board.port, exc)
