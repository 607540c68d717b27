"""The hold a ``bench`` command takes on a rack (or on an adb server) before touching it:
a rack in use is :class:`~benches.cli.exits.RackBusyError` (one line, exit 4), a lock
folder that cannot be used a :class:`~benches.cli.exits.CommandError` (exit 2).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from benches.cli.exits import CommandError, RackBusyError
from benches.inventory.models import Rack
from benches.rack.lock import RackInUse, RackLock, RackLockError, lock_adb_server, lock_rack

WAIT_HELP = "when another session holds the rack, wait for it instead of stopping (exit 4)"


def hold_rack(rack: Rack, *, wait: bool, command: str) -> RackLock:
    try:
        return lock_rack(rack, wait=wait, report=_reporter(command))
    except RackInUse as error:
        raise RackBusyError(f"{error}; pass --wait to wait for it") from None
    except RackLockError as error:
        raise CommandError(str(error)) from None


def hold_adb_server(host: str, port: int, *, wait: bool, command: str) -> RackLock:
    try:
        return lock_adb_server(host, port, wait=wait, report=_reporter(command))
    except RackInUse as error:
        raise RackBusyError(f"{error}; pass --wait to wait for it") from None
    except RackLockError as error:
        raise CommandError(str(error)) from None


def _reporter(command: str) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(f"bench {command}: {line}", file=sys.stderr, flush=True)

    return say
