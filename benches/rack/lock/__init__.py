"""One session per rack: the exclusive lock a session takes on what its rack uses.

- `resources`: what a rack uses that two sessions must not share (its name, its adb
  server, each relay and console port, its gateway interface), and each one's lock file;
- `directory`: where the lock files live (BENCH_LOCK_DIR, /run/lock/benches, or a
  per-user folder under the temp dir);
- `holder`: who holds a lock (user, host, pid, since, command), as its file says;
- `rack_lock`: taking them all, at once or waiting (`lock_rack`), and handing them
  to a child process (`bench signoff`'s pytest session).

The locks are flock(2) locks on open files: the kernel drops them when the holder's
last descriptor closes, however the process ends, so there is never a stale lock.
"""

from benches.rack.lock.rack_lock import (
    INHERITED_FDS_ENV,
    RackInUse,
    RackLock,
    RackLockError,
    lock_adb_server,
    lock_rack,
)

__all__ = [
    "INHERITED_FDS_ENV",
    "RackInUse",
    "RackLock",
    "RackLockError",
    "lock_adb_server",
    "lock_rack",
]
