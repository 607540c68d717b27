"""Typed models of the rack (devices.yaml) and of a firmware manifest.

These are plain frozen dataclasses: the loader validates and builds them, and
every other layer only reads them. The YAML keys they mirror are a stable
contract (see DESIGN.md and docs/devices-yaml.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benches.inventory.virtual import VirtualRackConfig


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
    power_off_s: float = 3.0  # a hard power cycle keeps the power cut this long
    power_button_s: float = 0.6  # how long a relay holds the power button to switch a phone on
    screen_off_s: float = 5.0  # unlock cycle: how long the screen stays off before the wake
    idle_s: float = 60.0  # idle cycle: the quiet window, screen off, nothing driven
    recovery_wait_s: float = 30.0  # recovery, step 1: how long to wait for an offline phone


@dataclass(frozen=True)
class GatewayConfig:
    """devices.yaml's `bench.gateway`: the interface the phones' traffic crosses."""

    interface: str = "lo"


@dataclass(frozen=True)
class AdbServerConfig:
    """devices.yaml's `bench.adb`: where the bench's adb server listens."""

    host: str = "127.0.0.1"
    port: int = 5037


@dataclass(frozen=True)
class AsciiCommands:
    """What an ASCII-speaking relay board or PDU wants, as templates with `{channel}`."""

    on: str  # closes the channel (power on / button held), e.g. "ON {channel}\r\n"
    off: str  # opens it again
    reply: str | None = None  # text every command must answer with, e.g. "OK"


@dataclass(frozen=True)
class RelayBoard:
    """A relay board (or PDU) on a serial port; phones name it in `power` and `power_button`."""

    name: str
    driver: str  # "lcus" (CH340 LCUS 4-byte frames) or "ascii" (command templates)
    # A device path (relative paths are from devices.yaml's folder), rfc2217:// or socket://.
    port: str
    baud: int = 9600
    channels: int = 4
    ascii: AsciiCommands | None = None  # the ascii driver's commands


@dataclass(frozen=True)
class RelayLink:
    """One channel of one relay board."""

    relay: str  # a bench.relays[].name
    channel: int  # 1-based, as printed on the board


@dataclass(frozen=True)
class SerialConsole:
    """A phone's UART console: a device path (relative: from devices.yaml), rfc2217:// or socket://."""

    port: str
    baud: int = 115200


@dataclass(frozen=True)
class Bench:
    name: str
    location: Location
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    adb: AdbServerConfig = field(default_factory=AdbServerConfig)
    timings: Timings = field(default_factory=Timings)
    relays: tuple[RelayBoard, ...] = ()

    def relay(self, name: str) -> RelayBoard:
        for board in self.relays:
            if board.name == name:
                return board
        raise KeyError(name)


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
    power: RelayLink | None = None  # the relay that cuts and restores its supply
    power_button: RelayLink | None = None  # the relay wired across its power button
    console: SerialConsole | None = None
    unlock_pin: str | None = None  # the keyguard PIN, when the phone has one set
    # fastboot's name for the phone in the bootloader: its USB serial (the default)
    # or "tcp:HOST:PORT" for fastboot over TCP.
    fastboot: str | None = None

    @property
    def adb_serial(self) -> str:
        return self.adb_connect or self.serial

    @property
    def fastboot_serial(self) -> str:
        return self.fastboot or self.serial


@dataclass(frozen=True)
class Rack:
    path: Path
    bench: Bench
    devices: tuple[Device, ...]
    virtual: VirtualRackConfig | None = None

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
    # Name suffixes of hosts known to pin their certificates: a TLS flow to one that the
    # interceptor could not open does not make a cycle inconclusive.
    opaque_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Image:
    path: str
    sha256: str  # 64 lowercase hex digits


# A manifest's `interception:` (TLS interception at the gateway, issue 15): `required`
# (a phone that cannot trust the bench's CA is a bench fault), `optional` (one line,
# that phone goes on without), `off` (the default).
INTERCEPTION_SETTINGS = ("required", "optional", "off")


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
    interception: str = "off"  # one of INTERCEPTION_SETTINGS

    @property
    def intercepts(self) -> bool:
        return self.interception != "off"
