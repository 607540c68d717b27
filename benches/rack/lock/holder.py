"""Who holds a lock: what the holder writes into its lock file, and how another reads it.

The file holds one JSON object: user, host, pid, since (ISO 8601, UTC), command and
the rack. It is only a description (the flock is the lock): a file that is empty
(its holder is writing it), garbled or unreadable still gives one clear line.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from benches.redaction.printable import printable

MAX_HOLDER_BYTES = 4096  # a lock file is read no further
MAX_COMMAND_CHARS = 200


@dataclass(frozen=True)
class Holder:
    user: str
    host: str
    pid: int
    since: str
    command: str
    rack: str

    @classmethod
    def this_process(cls, rack: str, scrub: Callable[[str], str] = str) -> Holder:
        """This process as the holder; `scrub` masks identifiers typed on its command line
        (the next session, perhaps another user's, reads the file)."""
        return cls(
            user=_user(),
            host=socket.gethostname(),
            pid=os.getpid(),
            since=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            command=scrub(_command())[:MAX_COMMAND_CHARS],
            rack=rack,
        )

    def encoded(self) -> bytes:
        return (json.dumps(asdict(self), ensure_ascii=True) + "\n").encode()

    def describe(self) -> str:
        """``alice@lab-3 pid 4121 since 2026-12-07T19:20:01Z (bench signoff ...)``."""
        who = printable(f"{self.user}@{self.host} pid {self.pid} since {self.since}")
        return f"{who} ({printable(self.command)})" if self.command else who


def read_holder(fd: int) -> Holder | str:
    """The holder a lock file names, or a line saying why it names none."""
    try:
        data = os.pread(fd, MAX_HOLDER_BYTES, 0)
    except OSError as error:
        return f"an unknown holder (its lock file is unreadable: {error.strerror or error})"
    if not data.strip():
        return "an unknown holder (its lock file is empty: it may be taking the lock now)"
    try:
        fields = json.loads(data.decode("utf-8"))
        return Holder(
            user=_text(fields["user"]),
            host=_text(fields["host"]),
            pid=_pid(fields["pid"]),
            since=_text(fields["since"]),
            command=_text(fields.get("command", "")),
            rack=_text(fields.get("rack", "")),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return "an unknown holder (its lock file does not say who: garbled)"


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value[:MAX_COMMAND_CHARS]


def _pid(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(value)
    return value


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's uid)
        return f"uid {os.getuid()}"


def _command() -> str:
    """The command line as typed: `bench signoff ...` rather than the interpreter's path."""
    argv = list(sys.argv)
    if argv and os.path.basename(argv[0]) in ("bench", "__main__.py"):
        argv[0] = "bench"
    elif argv and argv[0].endswith(("pytest", "pytest/__main__.py", "py.test")):
        argv[0] = "pytest"
    return shlex.join(argv)
