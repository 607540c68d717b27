"""What the virtual adbd's parts see of each other, so that none imports the daemon back.

The daemon (`daemon.py`) makes connections (`connection.py`), which open streams
and run services on them (`services.py`); each of those sees the daemon as a
`Daemon` and a stream as a `ServiceStream`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from benches.sim.adbd.files import PhoneFiles
from benches.sim.adbd.run import Run


@dataclass(frozen=True)
class ShellResult:
    """What one shell command line gave: its output and its exit code."""

    output: bytes
    exit_code: int = 0


class Daemon(Protocol):
    """The daemon as its connections and services see it (AdbDaemon is the one)."""

    @property
    def serial(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def max_payload(self) -> int: ...

    @property
    def features(self) -> tuple[str, ...]: ...

    def banner(self) -> Mapping[str, str]: ...

    def shell(self, command: str) -> ShellResult: ...

    def on_reboot(self, arg: str) -> None: ...

    @property
    def files(self) -> PhoneFiles | None:
        """The phone's file tree for the sync service (None: it has none)."""
        ...

    def disconnect_all(self) -> None: ...


class ServiceStream(Protocol):
    """An opened stream, as the service running on it sees it (connection.Stream is the one)."""

    @property
    def max_payload(self) -> int:
        """The most payload bytes one WRTE may carry on this connection."""
        ...

    @property
    def run(self) -> Run:
        """The daemon's run the stream's connection belongs to."""
        ...

    def write(self, data: bytes) -> None: ...

    def read(self, size: int) -> bytes | None:
        """Exactly `size` bytes the peer wrote (None: the stream closed first)."""
        ...
