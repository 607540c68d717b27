"""The power layer's one error type."""

from __future__ import annotations

from benches.rack.ports import PortError


class PowerError(PortError):
    """A relay board could not do what the bench asked; the message is one line."""
