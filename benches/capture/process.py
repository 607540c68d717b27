"""The bench's side of one capture: start the sniffer process, stop it, judge its health.

A capture is one of the recorders around a cycle's window
(`benches.rack.protocols.RecorderProtocol`): `start()` raises CaptureStartError
when it cannot capture; `stop()` never raises, and leaves what it learnt in
`health` (a capture that died, or whose statistics are lost, says so there,
which makes the cycle inconclusive); `excerpts()` is the pcap.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benches.capture import sniffer
from benches.capture.health import CaptureHealth
from benches.rack.protocols import RecorderProtocol

PACKAGE_ROOT = Path(sniffer.__file__).resolve().parents[2]  # the folder that holds `benches`


def _sniffer_env() -> dict[str, str]:
    """This environment, with the bench's own package first on PYTHONPATH (for ``-S``)."""
    paths = [str(PACKAGE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


class CaptureStartError(RuntimeError):
    """The capture could not start; the message says why and what to do."""


class CapturePermissionError(CaptureStartError):
    pass


class Capture(RecorderProtocol):
    """One sniffer process writing one pcap for one phone's addresses."""

    def __init__(
        self, interface: str, addresses: Sequence[str], pcap: Path, macs: Sequence[str] = ()
    ) -> None:
        """``macs``: the phone's, also captured where the interface has a MAC of its own."""
        if not addresses:
            raise CaptureStartError(
                "the phone has no network address to capture (network.ipv4/ipv6)"
            )
        self.interface = interface
        self.addresses = tuple(addresses)
        self.macs = tuple(macs)
        self.pcap = pcap
        self.health: CaptureHealth | None = None  # set by stop()
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 10.0) -> None:
        self.pcap.parent.mkdir(parents=True, exist_ok=True)
        # -S: no site-packages to set up (a third of the sniffer's start-up, once per phone
        # per cycle); it needs only the standard library and this package, found through
        # PYTHONPATH. Unbuffered output is not needed: it flushes its lines itself.
        command = [sys.executable, "-S", "-m", "benches.capture.sniffer", "--iface", self.interface]
        for address in self.addresses:
            command += ["--host", address]
        for mac in self.macs:
            command += ["--mac", mac]
        command += ["--out", str(self.pcap)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_sniffer_env()
        )
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline().strip() if ready else ""
        if line == "ready":
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        reason = (process.stderr.read().strip() if process.stderr else "") or "no output"
        if process.returncode == sniffer.EXIT_NO_PERMISSION:
            raise CapturePermissionError(reason)
        raise CaptureStartError(f"capture on {self.interface} did not start: {reason}")

    def stop(self, grace: float = 0.2, timeout: float = 10.0) -> None:
        """End the capture; `health` says whether it saw everything it could."""
        self.health = self._stop(grace, timeout)

    def excerpts(self) -> list[Path]:
        """The pcap, once the capture started."""
        return [self.pcap] if self._process is not None else []

    def _stop(self, grace: float, timeout: float) -> CaptureHealth:
        process = self._process
        if process is None:
            return CaptureHealth(0, 0, died=True, error="never started")
        time.sleep(grace)  # let the last packets of the window reach the socket
        if process.poll() is not None:
            return self._died(process)
        process.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return CaptureHealth(self._records_on_disk(), 0, died=True, error="did not stop")
        if process.returncode != 0:
            return self._died(process, stderr)
        try:
            stats = json.loads(stdout.strip().splitlines()[-1])
            return CaptureHealth(stats["packets"], stats["kernel_drops"], died=False)
        except (IndexError, KeyError, TypeError, ValueError):
            # Its counts are what make a pass a claim: without them the window is unproven.
            detail = f"its statistics are unreadable: {stdout.strip()[-80:]!r}"
            return CaptureHealth(self._records_on_disk(), 0, died=True, error=detail)

    def _died(self, process: subprocess.Popen[str], stderr: str | None = None) -> CaptureHealth:
        if stderr is None:
            _, stderr = process.communicate()
        code = process.returncode
        cause = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        detail = f"{cause}: {stderr.strip()}" if stderr and stderr.strip() else cause
        return CaptureHealth(self._records_on_disk(), 0, died=True, error=detail)

    def _records_on_disk(self) -> int:
        """Whole pcap records written before the capture died (its stats are lost)."""
        try:
            data = self.pcap.read_bytes()
        except OSError:
            return 0
        count, offset = 0, 24
        while offset + 16 <= len(data):
            captured = int.from_bytes(data[offset + 8 : offset + 12], "little")
            if offset + 16 + captured > len(data):
                break
            offset += 16 + captured
            count += 1
        return count
