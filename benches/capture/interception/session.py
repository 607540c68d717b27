"""A session's interception as the cycles see it: is the interceptor up, and each window's cut.

The process that opened the bench started the interceptor (`Interceptor`); a
parallel sign-off's workers only know its spool. Both judge it by the pid the
addon wrote in the spool's ``ready`` file, so a worker's cycles know as well as
the controller's whether the interceptor ran through their window. It is never
restarted in a session, so running at both ends of a window means running
throughout it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from benches.capture.interception.cut import CycleInterception, SpoolCutter
from benches.capture.interception.files import InterceptionFiles
from benches.capture.interception.interceptor import INTERCEPTOR, READY


@dataclass(frozen=True)
class WindowStart:
    wall: float
    running: bool


@dataclass
class InterceptionSession:
    spool: Path
    mode: str
    ports: tuple[int, ...]
    # Phones (by address) the session goes on without intercepting, and why
    # (`interception: optional` and the phone cannot trust the bench's CA).
    skipped: dict[str, str] = field(default_factory=dict)
    _cutter: SpoolCutter | None = None

    def intercepts(self, address: str) -> bool:
        return address not in self.skipped

    def pid(self) -> int | None:
        try:
            first = (self.spool / READY).read_text().split()
            return int(first[0]) if first else None
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        # A zombie has exited: its parent has not reaped it yet.
        return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")

    def open_window(self) -> WindowStart:
        return WindowStart(time.time(), self.running())

    def cut(self, address: str, start: WindowStart, pcap: Path, root: Path) -> InterceptionFiles:
        """The window's four files beside `pcap`: raises OSError when the spool cannot be read."""
        end = time.time()
        running = self.running()
        complete = start.running and running
        reason = None
        if not complete:
            reason = "the interceptor (mitmdump) was not running for the whole window"
        state = CycleInterception(
            INTERCEPTOR, self.mode, self.ports, address, (start.wall, end), complete, reason
        )
        if self._cutter is None:
            self._cutter = SpoolCutter(self.spool)
        return self._cutter.cut(state, pcap, root)
