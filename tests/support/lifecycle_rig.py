"""A small internet and virtual phones for the lifecycle tests, on 127.61.1xx.* (our range).

The internet is the sim's own resolver and a recording HTTP server standing for
the hosts the firmware talks to in cleartext, so a test can read what each
phone sent, event by event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benches.inventory.models import Device, Identity, Network, Timings
from benches.inventory.virtual import Fault
from benches.sim.network.resolver import Resolver

RESOLVER = "127.61.153.53"
CN_HOST, CN_ADDRESS = "zfhmd.vnet.cn", "127.61.186.10"
PROBE_HOST, PROBE_ADDRESS = "connectivity.vendor.example", "127.61.144.11"
ADB_PORT = 5201
WAIT_S = 20.0  # how long a test waits for something that must happen; never a pass/fail time
FAST = Timings(
    boot_offline_s=0.3,
    boot_completed_s=0.3,
    boot_timeout_s=WAIT_S,
    settle_s=0.1,
    power_off_s=0.1,
    power_button_s=0.6,
    screen_off_s=0.1,
    idle_s=0.2,
)


@dataclass(frozen=True)
class Request:
    host: str
    method: str
    path: str
    body: dict[str, object]


class RecordingServer(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: str, requests: list[Request]) -> None:
        super().__init__((address, 80), _Recorder)
        self.requests = requests


class _Recorder(BaseHTTPRequestHandler):
    server: RecordingServer

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw) if raw else {}
        self.server.requests.append(Request(self.headers["Host"], self.command, self.path, body))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _record  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class Internet:
    """The resolver and the recording servers; `requests` is everything the phones sent."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.resolver = Resolver(RESOLVER, {CN_HOST: CN_ADDRESS, PROBE_HOST: PROBE_ADDRESS})
        self.servers = [RecordingServer(a, self.requests) for a in (CN_ADDRESS, PROBE_ADDRESS)]

    def start(self) -> None:
        self.resolver.start()
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.resolver.stop()

    def leaks(self, serial: str) -> list[dict[str, object]]:
        """The China-variant client's reports from the phone with this serial number."""
        return [r.body for r in self.requests if r.host == CN_HOST and r.body.get("sn") == serial]


def device(number: int, pin: str | None = None) -> Device:
    serial = f"SIMLC{number:04d}"
    return Device(
        serial=serial,
        model="TA-1046",
        network=Network(ipv4=f"127.61.102.{number}"),
        identity=Identity(imei=("352098100123452",), iccid="89358051000000000111", serial=serial),
        adb_connect=f"127.61.101.{number}:5555",
        unlock_pin=pin,
    )


def fault(number: int, kind: str, **fields: object) -> Fault:
    return Fault(serial=device(number).serial, kind=kind, **fields)  # type: ignore[arg-type]


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
