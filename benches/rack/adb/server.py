"""The bench's handle on its own adb server (real benches and the virtual rack alike).

Which adb binary, in order:

1. ``$BENCH_ADB``, if set: the operator's explicit choice always wins (a
   platform-tools build the lab has qualified, a wrapper script).
2. The adb that ships inside the adbutils wheel, on x86-64 Linux. adbutils is
   already a dependency, its adb is a real platform-tools build (36.0.0 with
   adbutils 2.12), and pinning it with the Python dependencies means every bench
   and CI runner speaks the same adb version. adbutils' own ``adb_path()`` prefers
   ``$PATH`` over its bundled binary, so we look in its ``binaries`` directory.
3. ``adb`` on ``$PATH`` (other platforms, or a wheel without the binary).

Otherwise ``AdbNotFoundError`` says how to get one: ``apt-get install adb`` or
set ``BENCH_ADB``.

The server is always started with ``ADB_MDNS=0`` (no mDNS multicast on the
bench's networks: the gateway capture must only see the phones) and
``ADB_EMU=0`` (no probing of localhost:5555-5585 for emulators, where virtual
phones may listen). ``usb=False`` also sets ``ADB_USB=0``, for the virtual
rack. A virtual rack uses its own port (e.g. 5137), so it never disturbs the
server on 5037 that drives USB phones.

Caveat: adbutils starts ``adb start-server`` on its default port by itself when
it cannot reach the server it was given; call ``start()`` before ``client()``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import adbutils

ADB_ENV_VAR = "BENCH_ADB"
_LOCAL_HOSTS = ("127.0.0.1", "localhost")
_CONNECTED = ("connected to", "already connected to")


class AdbNotFoundError(RuntimeError):
    """No adb binary could be found."""


class AdbServerError(RuntimeError):
    """An adb server command failed; the message holds adb's own words."""


def _bundled_adb() -> Path | None:
    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")):
        return None
    try:
        import adbutils.binaries
    except ImportError:
        return None
    candidate = Path(adbutils.binaries.__file__).parent / "adb"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def find_adb_binary() -> Path:
    """The adb binary to use: $BENCH_ADB, else adbutils' bundled one, else adb on $PATH."""
    configured = os.environ.get(ADB_ENV_VAR)
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise AdbNotFoundError(f"{ADB_ENV_VAR}={configured} is not an executable file")
        return path
    bundled = _bundled_adb()
    if bundled is not None:
        return bundled
    on_path = shutil.which("adb")
    if on_path:
        return Path(on_path)
    raise AdbNotFoundError(
        f"no adb binary found: `apt-get install adb`, or set {ADB_ENV_VAR}=/path/to/adb"
    )


class AdbServer:
    """One adb server on ``host:port``; every command goes to that server only."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5037,
        *,
        adb: Path | None = None,
        usb: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.adb = adb or find_adb_binary()
        self._env = {**os.environ, "ADB_MDNS": "0", "ADB_EMU": "0", **(env or {})}
        if not usb:
            self._env["ADB_USB"] = "0"
        # adb would otherwise obey these instead of our -H/-P.
        for name in ("ANDROID_ADB_SERVER_ADDRESS", "ANDROID_ADB_SERVER_PORT", "ADB_SERVER_SOCKET"):
            self._env.pop(name, None)

    def __repr__(self) -> str:
        return f"AdbServer({self.host}:{self.port}, adb={self.adb})"

    def run(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``adb [-H host] -P port ARGS...`` on this server (an argument list, no shell)."""
        # adb only starts a server for its default host; `-H 127.0.0.1` counts as "remote".
        remote = [] if self.host in _LOCAL_HOSTS else ["-H", self.host]
        command = [str(self.adb), *remote, "-P", str(self.port), *args]
        return subprocess.run(
            command,
            env=self._env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )

    def _check(self, *args: str, timeout: float = 30.0) -> str:
        done = self.run(*args, timeout=timeout)
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
            raise AdbServerError(f"adb {' '.join(args)} (server {self.port}): {message}")
        return done.stdout

    def start(self) -> None:
        self._check("start-server")

    def kill(self) -> None:
        """Stop the server; a server that is not running is not an error."""
        self.run("kill-server", timeout=10.0)

    def client(self) -> adbutils.AdbClient:
        return adbutils.AdbClient(host=self.host, port=self.port)

    def connect(self, addr: str, timeout: float = 10.0) -> str:
        """``adb connect addr``, retried until adb reports it connected; returns adb's words."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.run("connect", addr, timeout=max(1.0, timeout))
            message = (done.stdout + done.stderr).strip()
            if message.startswith(_CONNECTED):
                return message
            if time.monotonic() >= deadline:
                raise AdbServerError(f"adb connect {addr} (server {self.port}): {message}")
            time.sleep(0.1)

    def reconnect(self, addr: str, timeout: float = 10.0) -> str:
        """``adb disconnect`` then ``adb connect``: re-attach a TCP device *now*.

        After a TCP device drops, the server retries it by itself (250 ms after
        the drop, then every 3 s) and, meanwhile, answers ``adb connect`` with
        "already connected" without retrying sooner. Disconnecting first makes
        the connect immediate; if the device is still down, it is then absent
        (no more background retries) once ``timeout`` runs out.
        """
        self.disconnect(addr)
        return self.connect(addr, timeout)

    def disconnect(self, addr: str) -> str:
        """``adb disconnect addr``; returns adb's words (an unknown addr is not an error)."""
        done = self.run("disconnect", addr)
        return (done.stdout + done.stderr).strip()

    def devices(self) -> list[tuple[str, str]]:
        """(serial, state) for every device the server knows, e.g. ("127.0.1.1:5555", "device")."""
        result = []
        for line in self._check("devices").splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 2:
                result.append((parts[0], parts[1]))
        return result
