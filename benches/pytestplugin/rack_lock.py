"""The sign-off session's hold on its rack: taken once, by the process that opens the
bench session, before anything on the rack is touched.

`hold_rack(config)` is the one call: the plugin makes it when collection finds a
sign-off run; a pytest-xdist controller makes it before its workers start. Workers
(`config.workerinput`) never take it: their controller holds it for them. A session
run by `bench signoff` holds the command's locks, passed down to it
(benches.rack.lock.rack_lock says how).

A rack in use stops the session with pytest's usage-error exit, 4, and one line.
"""

from __future__ import annotations

import sys

import pytest

from benches.pytestplugin.config import rack_of
from benches.rack.lock import RackLock, RackLockError, lock_rack

_LOCK_KEY = pytest.StashKey[RackLock]()


def hold_rack(config: pytest.Config) -> None:
    """Hold the rack for this session (waiting with --wait), released when it ends."""
    if hasattr(config, "workerinput") or _LOCK_KEY in config.stash:
        return
    try:
        lock = lock_rack(rack_of(config), wait=config.getoption("wait_for_rack"), report=_say)
    except RackLockError as error:
        # A rack in use, or a lock folder that cannot be used: either way no proof
        # that this session drives the rack alone, so it does not start.
        raise pytest.UsageError(str(error)) from None
    config.stash[_LOCK_KEY] = lock
    config.add_cleanup(lock.release)


def _say(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)
