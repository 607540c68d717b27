"""What tests ask an adb server that the bench never does: `adb devices -l`, and waiting
for a serial to reach a state. (They were AdbServer methods that only tests called.)"""

from __future__ import annotations

import time

from benches.rack.adb.server import AdbServer, AdbServerError


def devices_long(server: AdbServer) -> str:
    """The output of ``adb devices -l``."""
    done = server.run("devices", "-l")
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        raise AdbServerError(f"adb devices -l (server {server.port}): {message}")
    return done.stdout


def wait_for_state(
    server: AdbServer, serial: str, *states: str | None, timeout: float = 10.0
) -> str | None:
    """Poll until the serial's state is one of ``states`` (None: absent) and return it."""
    deadline = time.monotonic() + timeout
    while True:
        current = dict(server.devices()).get(serial)
        if current in states:
            return current
        if time.monotonic() >= deadline:
            wanted = "/".join(state or "absent" for state in states)
            raise AdbServerError(
                f"{serial}: {current or 'absent'} after {timeout:.1f} s, wanted {wanted}"
            )
        time.sleep(0.05)
