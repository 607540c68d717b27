"""What a rack uses that two sessions must not share, and the lock file of each.

Two racks with different names collide when they share any of these: the same adb
server (it is killed and restarted with the session), a relay board's or a console's
serial port (one owner per port), or the gateway interface. The loopback interface is
not locked: the virtual racks all ride it, each on its own addresses.

Lock files are named from the resource, never with an identifier in the clear: a
bench name, an adb address and an interface name appear as they are (made safe for a
file name), a serial port (whose /dev/serial/by-id name carries the adapter's serial
number) only as a hash.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from benches.inventory.models import Rack
from benches.redaction.masks import device_label

LOOPBACK_INTERFACES = frozenset({"lo", "lo0"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LOOPBACK_NAMES = {"localhost": "127.0.0.1", "ip6-localhost": "::1"}


@dataclass(frozen=True)
class Resource:
    """One thing a session drives alone: `key` decides sameness, `label` is for people."""

    kind: str  # "rack", "adb", "port" or "interface"
    key: str
    label: str

    @property
    def file_name(self) -> str:
        digest = hashlib.sha256(f"{self.kind}\0{self.key}".encode()).hexdigest()[:16]
        if self.kind == "port":
            return f"port-{digest}.lock"
        # Readable, and the digest keeps two names that clean up alike apart.
        readable = _UNSAFE.sub("_", self.key)[:64].strip("._") or "x"
        return f"{self.kind}-{readable}-{digest[:8]}.lock"


def rack_resources(rack: Rack) -> list[Resource]:
    """Everything `rack` uses, each once."""
    bench = rack.bench
    found = [
        Resource("rack", bench.name, f"rack {bench.name}"),
        adb_resource(bench.adb.host, bench.adb.port),
    ]
    follow = rack.virtual is None  # a virtual rack's path is its simulator's own link
    for board in bench.relays:
        key = port_key(board.port, follow)
        found.append(Resource("port", key, f"relay board {board.name}'s port"))
    for device in rack.devices:
        if device.console is not None:
            key = port_key(device.console.port, follow)
            label = f"the console port of {device_label(device.serial)}"
            found.append(Resource("port", key, label))
    interface = bench.gateway.interface
    if interface not in LOOPBACK_INTERFACES:
        found.append(Resource("interface", interface, f"gateway interface {interface}"))
    unique = {(r.kind, r.key): r for r in reversed(found)}  # the first label of a key stays
    return list(unique.values())


def adb_resource(host: str, port: int) -> Resource:
    address = _LOOPBACK_NAMES.get(host.lower(), host.lower())
    return Resource("adb", f"{address}:{port}", f"adb server {host}:{port}")


def port_key(port: str, follow: bool = True) -> str:
    """One key per port, however devices.yaml spells it: a network port by host:port
    (socket:// and rfc2217:// to the same listener are one port), a device by the
    file it resolves to (a /dev/serial/by-id link and its /dev/ttyUSB0 are one).

    A virtual rack's path is not followed: it is a link the simulator remakes to a
    pty of the moment, and a stale one may name a pty another rack has now."""
    scheme, sep, rest = port.partition("://")
    if sep:
        address = rest.split("?", 1)[0].lower()
        host, _, number = address.rpartition(":")
        return f"tcp:{_LOOPBACK_NAMES.get(host, host)}:{number}"
    return os.path.realpath(port) if follow else os.path.abspath(port)
