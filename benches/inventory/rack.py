"""devices.yaml, as composed YAML nodes, to a validated Rack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benches.inventory import regions, validators
from benches.inventory.faults import check_fault_serials, read_fault
from benches.inventory.hardware import HardwareReader
from benches.inventory.models import (
    AdbServerConfig,
    Bench,
    Device,
    GatewayConfig,
    Identity,
    Location,
    Network,
    Rack,
    Timings,
)
from benches.inventory.nodes import Cursor
from benches.inventory.virtual import Endpoint, Fault, VirtualRackConfig

# The `virtual:` section read, with each fault's place in the file (to name it in errors).
VirtualSection = tuple[VirtualRackConfig, tuple[tuple[Fault, Cursor], ...]]


def read_rack(root: Cursor, path: Path) -> Rack:
    top = root.fields(
        required={"bench": _later, "devices": _later},
        optional={"virtual": _VirtualReader().read},
    )
    virtual_reader: VirtualSection | None = top.get("virtual")
    hardware = HardwareReader(rack_dir=path.parent, virtual=virtual_reader is not None)
    bench = read_bench(top["bench"], hardware)
    devices = _DevicesReader(virtual_reader is not None, hardware).read(top["devices"])
    virtual = None
    if virtual_reader is not None:
        virtual, faults = virtual_reader
        check_fault_serials(faults, {device.serial for device in devices})
    return Rack(path=path, bench=bench, devices=devices, virtual=virtual)


def _later(cursor: Cursor) -> Cursor:
    """Defers a value until the keys it depends on have been read."""
    return cursor


def read_bench(cursor: Cursor, hardware: HardwareReader) -> Bench:
    values = cursor.fields(
        required={"name": _label, "location": read_location},
        optional={
            "gateway": read_gateway,
            "adb": read_adb,
            "timings": read_timings,
            "relays": hardware.relays,
        },
    )
    return Bench(**values)


def read_location(cursor: Cursor) -> Location:
    values = cursor.fields(
        required={"lat": _latitude, "lon": _longitude},
        optional={"radius_km": _positive},
    )
    if values["lat"] == 0 and values["lon"] == 0:
        # The placeholder `bench discover` writes: with it, any small number in any
        # traffic (0.0012345) would read as "near the bench".
        raise cursor.error(
            "0, 0 is the placeholder `bench discover` writes, not a place: "
            "put the bench's own latitude and longitude here"
        )
    return Location(**values)


def read_gateway(cursor: Cursor) -> GatewayConfig:
    return GatewayConfig(**cursor.fields(required={}, optional={"interface": _interface}))


def read_adb(cursor: Cursor) -> AdbServerConfig:
    values = cursor.fields(required={}, optional={"host": _host, "port": _port})
    return AdbServerConfig(**values)


def read_timings(cursor: Cursor) -> Timings:
    keys = (
        "boot_offline_s",
        "boot_completed_s",
        "boot_timeout_s",
        "settle_s",
        "canary_timeout_s",
        "power_off_s",
        "power_button_s",
        "screen_off_s",
        "idle_s",
        "recovery_wait_s",
    )
    return Timings(**cursor.fields(required={}, optional=dict.fromkeys(keys, _positive)))


def read_endpoint(cursor: Cursor, hosts: _Unique) -> Endpoint:
    values = cursor.fields(
        required={
            "host": lambda c: hosts.claim("endpoint host", c, c.checked(validators.host_name)),
            "address": _loopback,
            "country": lambda c: c.checked(regions.country_code),
            "owner": _label,
        }
    )
    return Endpoint(**values)


@dataclass
class _Unique:
    """Values that must not repeat, each with the first place it was seen."""

    first: dict[tuple[str, str], Cursor] = field(default_factory=dict)

    def claim(self, what: str, at: Cursor, value: str) -> str:
        first = self.first.setdefault((what, value), at)
        if first is not at:
            raise at.error(f"duplicate {what} {value}, first at line {first.line} ({first.path})")
        return value


@dataclass
class _VirtualReader:
    """The virtual rack; fault serials are checked once devices[] is read."""

    hosts: _Unique = field(default_factory=_Unique)

    def read(self, cursor: Cursor) -> VirtualSection:
        values = cursor.fields(
            required={
                "resolver": _loopback,
                "endpoints": lambda c: c.list_of(lambda item: read_endpoint(item, self.hosts)),
            },
            optional={"faults": lambda c: c.list_of(read_fault)},
        )
        faults = values.pop("faults", ())
        return VirtualRackConfig(**values, faults=tuple(f for f, _ in faults)), faults


@dataclass
class _DevicesReader:
    """Reads devices[], checking uniqueness across the rack and the virtual rack's rules."""

    virtual: bool
    hardware: HardwareReader
    unique: _Unique = field(default_factory=_Unique)

    def read(self, cursor: Cursor) -> tuple[Device, ...]:
        devices = cursor.list_of(self.device)
        if not devices:
            raise cursor.error("a rack needs at least one device")
        return devices

    def device(self, cursor: Cursor) -> Device:
        values = cursor.fields(
            required={
                "serial": lambda c: self.claimed("serial", c, validators.word),
                "model": _label,
                "network": self.network,
                "identity": self.identity,
            },
            optional={
                "adb_connect": self.adb_connect,
                "power": self.hardware.link,
                "power_button": self.hardware.link,
                "console": self.hardware.console,
                "unlock_pin": _pin,
                "fastboot": self.fastboot,
            },
        )
        return Device(**values)

    def network(self, cursor: Cursor) -> Network:
        values = cursor.fields(
            required={"ipv4": self.ipv4},
            optional={
                "ipv6": lambda c: self.claimed("IPv6 address", c, validators.ipv6),
                "mac": lambda c: self.claimed("MAC address", c, validators.mac),
            },
        )
        return Network(**values)

    def ipv4(self, cursor: Cursor) -> str:
        check = validators.loopback_ipv4 if self.virtual else validators.ipv4
        return self.claimed("IPv4 address", cursor, check)

    def identity(self, cursor: Cursor) -> Identity:
        values = cursor.fields(
            required={"imei": self.imeis},
            optional={
                "iccid": lambda c: self.claimed("ICCID", c, validators.iccid),
                "imsi": lambda c: self.claimed("IMSI", c, validators.imsi),
                "serial": lambda c: c.checked(validators.word),
                "wifi_mac": lambda c: self.claimed("Wi-Fi MAC", c, validators.mac),
            },
        )
        return Identity(**values)

    def imeis(self, cursor: Cursor) -> tuple[str, ...]:
        imeis = cursor.list_of(lambda c: self.claimed("IMEI", c, validators.imei))
        if not imeis:
            raise cursor.error("a phone has at least one IMEI")
        return imeis

    def adb_connect(self, cursor: Cursor) -> str:
        host, _ = cursor.checked(validators.host_port)
        if self.virtual:
            cursor.apply(validators.loopback_ipv4, host)
        return self.unique.claim("adb_connect", cursor, cursor.string())

    def fastboot(self, cursor: Cursor) -> str:
        """A USB serial, or tcp:HOST:PORT / udp:HOST:PORT for fastboot over the network."""
        text = cursor.checked(validators.word)
        scheme, colon, rest = text.partition(":")
        if colon and scheme in ("tcp", "udp"):
            host, _ = cursor.apply(validators.host_port, rest)
            if self.virtual:
                cursor.apply(validators.loopback_ipv4, host)
        elif colon:
            raise cursor.error(f"{text}: fastboot serials over the network are tcp:HOST:PORT")
        return self.unique.claim("fastboot serial", cursor, text)

    def claimed(self, what: str, cursor: Cursor, check: validators.Check) -> str:
        return self.unique.claim(what, cursor, cursor.checked(check))


def _pin(cursor: Cursor) -> str:
    text = cursor.string()
    if not (4 <= len(text) <= 16 and validators.is_digits(text)):
        raise cursor.error('unlock_pin must be 4-16 digits, quoted ("0123")')
    return text


def _label(cursor: Cursor) -> str:
    return cursor.checked(validators.label)


def _host(cursor: Cursor) -> str:
    return cursor.checked(validators.host)


def _interface(cursor: Cursor) -> str:
    return cursor.checked(validators.interface_name)


def _loopback(cursor: Cursor) -> str:
    return cursor.checked(validators.loopback_ipv4)


def _port(cursor: Cursor) -> int:
    return cursor.apply(validators.port, cursor.integer())


def _latitude(cursor: Cursor) -> float:
    return _within(cursor, -90, 90)


def _longitude(cursor: Cursor) -> float:
    return _within(cursor, -180, 180)


def _within(cursor: Cursor, low: float, high: float) -> float:
    value = cursor.number()
    if not low <= value <= high:
        raise cursor.error(f"{cursor.node.value} is outside [{low}, {high}]")
    return value


def _positive(cursor: Cursor) -> float:
    value = cursor.number()
    if value <= 0:
        raise cursor.error(f"{cursor.node.value} must be a number greater than 0")
    return value
