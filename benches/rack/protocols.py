"""The interfaces the rack's drivers meet, in one place (labgrid's `labgrid/protocol/`).

Code that uses a driver names the protocol, not the driver's class, and a
driver names the protocols it implements among its bases (``class
PowerSwitch(PowerProtocol, ButtonProtocol)``), so mypy checks that it does.

- `PowerProtocol`: a phone's supply: on, off, and THE hard power cycle that
  both the boot cycle and the recovery chain use.
- `ButtonProtocol`: a phone's power key, held for a while and let go.
- `RelayProtocol`: one relay board's channels (the LCUS and ASCII drivers).
- `ShellProtocol`: a shell on a phone (the adb driver, and `bench discover`'s
  phones that are not in devices.yaml yet).
- `RecorderProtocol`: anything recorded around a cycle's window (the capture,
  the UART console, logcat), in Mobly's `BaseService` shape: `start()`, a
  `stop()` that never raises, and `excerpts()`, the files it left.
- `VirtualRackProtocol`: what a bench session needs of the virtual rack
  (benches.sim), which whoever opens the session gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

# Told the name of each step just before it is done ("power_off"), e.g. a cycle's timeline.
EventSink = Callable[[str], None]


def no_events(_name: str) -> None:
    """An EventSink for callers that keep no timeline."""


class PowerProtocol(Protocol):
    """A phone's supply, switched by the bench (labgrid's PowerProtocol)."""

    @property
    def has_power(self) -> bool:
        """Whether devices.yaml wires a relay in series with the supply."""
        ...

    def on(self) -> None: ...

    def off(self) -> None: ...

    def cycle(self, event: EventSink = no_events) -> None:
        """The hard power cycle: off, kept off, on (also after a failed `off()`), then
        whatever else the phone needs to start (its power key, when one is wired).
        `event` hears `power_off`, `power_on` and `power_button`, each just before it."""
        ...


class ButtonProtocol(Protocol):
    """A phone's power key, wired to a relay across its contacts."""

    @property
    def has_button(self) -> bool: ...

    def press(self, seconds: float | None = None) -> None:
        """Hold the key for `seconds` (default: devices.yaml's timings), then let go."""
        ...


class PhonePower(PowerProtocol, ButtonProtocol, Protocol):
    """A phone's power as the cycles and the recovery chain use it: supply and key."""


class RelayProtocol(Protocol):
    """One relay board's channels, over a port the bank opened for it."""

    def switch(self, channel: int, closed: bool) -> None:
        """Close (`closed`) or open `channel`; PowerError (one line) when the board fails."""
        ...


class ShellProtocol(Protocol):
    """A shell on a phone: what the identity harvest and discovery need of it."""

    @property
    def serial(self) -> str: ...

    def shell(self, args: list[str]) -> str: ...


class RecorderProtocol(Protocol):
    """Something recorded around a cycle's window, one shape for all (Mobly's BaseService).

    `start()` raises when it cannot record (the window decides what that means);
    `stop()` ends the recording, writes and masks its files, and never raises: what
    went wrong is written into its files or its own fields instead; `excerpts()` are
    the files it left, after `stop()`.
    """

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def excerpts(self) -> list[Path]: ...


class VirtualRackProtocol(Protocol):
    """The virtual rack, as a bench session starts and stops it (benches.sim.rack.VirtualRack)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...
