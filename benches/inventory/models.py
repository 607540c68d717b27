"""Typed models of the rack (devices.yaml) and of a firmware manifest.

These are plain frozen dataclasses: the loader validates and builds them, and
every other layer only reads them. The YAML keys they mirror are a stable
contract (see DESIGN.md and docs/devices-yaml.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    # Coordinates within this distance of the bench count as the phone's location.
    radius_km: float = 50.0


@dataclass(frozen=True)
class Timings:
    """How long the rack's phones take to reach each boot stage, in seconds.

    Minutes on a real rack, seconds on the virtual one. The virtual phones use
    the ``boot_*`` values to pace their own boot; the bench uses the timeouts.
    """

    boot_offline_s: float = 1.0  # reboot -> adbd back up (phone shows "device")
    boot_completed_s: float = 2.0  # adbd up -> sys.boot_completed=1
    boot_timeout_s: float = 120.0  # how long the bench waits for boot_completed
    settle_s: float = 2.0  # quiet time after boot_completed inside the window
    canary_timeout_s: float = 5.0  # how long the capture may lag behind a canary


@dataclass(frozen=True)
class Gateway:
    interface: str = "lo"


@dataclass(frozen=True)
class AdbServer:
    host: str = "127.0.0.1"
    port: int = 5037


@dataclass(frozen=True)
class Bench:
    name: str
    location: Location
    gateway: Gateway = field(default_factory=Gateway)
    adb: AdbServer = field(default_factory=AdbServer)
    timings: Timings = field(default_factory=Timings)


@dataclass(frozen=True)
class Network:
    ipv4: str | None = None
    ipv6: str | None = None
    mac: str | None = None

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(a for a in (self.ipv4, self.ipv6) if a)


@dataclass(frozen=True)
class Identity:
    imei: tuple[str, ...]
    iccid: str | None = None
    imsi: str | None = None
    serial: str | None = None
    wifi_mac: str | None = None


@dataclass(frozen=True)
class Device:
    serial: str  # what the bench calls the phone: its adb serial over USB
    model: str
    network: Network
    identity: Identity
    # host:port of the phone's adbd when it is reached over TCP (`adb connect`);
    # the adb server then knows the phone by this address instead of `serial`.
    adb_connect: str | None = None

    @property
    def adb_serial(self) -> str:
        return self.adb_connect or self.serial


@dataclass(frozen=True)
class Endpoint:
    """A simulated internet host of the virtual rack, on a loopback address."""

    host: str
    address: str
    country: str  # the country this loopback address stands for
    owner: str  # the network owner (AS name) it stands for


@dataclass(frozen=True)
class VirtualRack:
    """Present when devices.yaml describes a virtual rack the bench starts itself."""

    resolver: str  # loopback address of the simulated DNS resolver
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True)
class Rack:
    path: Path
    bench: Bench
    devices: tuple[Device, ...]
    virtual: VirtualRack | None = None

    def device(self, serial: str) -> Device:
        for device in self.devices:
            if device.serial == serial:
                return device
        raise KeyError(serial)


@dataclass(frozen=True)
class Policy:
    allowed_countries: frozenset[str]  # ISO alpha-2, groups already expanded
    allowed_hosts: tuple[str, ...] = ()  # name suffixes; empty = countries only
    identifier_recipients: tuple[str, ...] = ()  # name suffixes, TLS only


@dataclass(frozen=True)
class Image:
    path: str
    sha256: str  # 64 lowercase hex digits


@dataclass(frozen=True)
class Manifest:
    path: Path
    build: str
    fingerprint: str
    region: str
    policy: Policy
    image: Image | None = None
    # Which behaviours the virtual rack's firmware runs; ignored on real phones.
    virtual_behaviours: tuple[str, ...] = ()
