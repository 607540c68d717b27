"""Which phones the session can still use, and why the others cannot.

A phone leaves the session for one of two reasons: it broke (recovery gave
up), or it is not what the run needs (wrong build, identity not as declared).
Either way its remaining tests end as errors labelled a bench fault, and
every other phone's results stand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


class BenchFault(Exception):
    """The bench, not the firmware under test, stopped this test. Never a pass, never a leak."""


@dataclass
class RackHealth:
    _out: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take_out(self, serial: str, reason: str) -> None:
        """Stop using the phone for the rest of the session; the first reason stays."""
        with self._lock:
            self._out.setdefault(serial, reason)

    def reason(self, serial: str) -> str | None:
        with self._lock:
            return self._out.get(serial)

    def check(self, serial: str) -> None:
        """Raise BenchFault when the phone was taken out of the session."""
        reason = self.reason(serial)
        if reason is not None:
            raise BenchFault(reason)

    @property
    def out(self) -> dict[str, str]:
        with self._lock:
            return dict(self._out)
