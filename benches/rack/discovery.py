"""What `bench discover` learns from each attached phone, and the devices.yaml skeleton it writes.

The skeleton holds the phones' own identifiers, raw (it is the inventory),
and loads as it is. What only a person can know is a value that loads plus a
`# TODO` comment:

- `bench.name`, `bench.location` (0, 0) and `bench.gateway.interface`
  (`CHANGEME`, which no host has, so a capture on it fails loudly);
- a phone's `network.ipv4` when its wlan0 has none: an address from
  192.0.2.0/24 (TEST-NET-1, RFC 5737), which no phone has. A capture filtered on
  it sees no canary, so a cycle on such a phone is inconclusive, never a pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from benches.inventory import validators
from benches.inventory.android import RELEASE_BY_SDK
from benches.inventory.validators import InvalidValue
from benches.rack.identity.harvest import harvest_identity
from benches.rack.identity.model import HarvestedIdentity
from benches.rack.protocols import ShellProtocol
from benches.redaction.masks import mask

PLACEHOLDER_NETWORK = "192.0.2"
_INET = re.compile(r"\binet (\d{1,3}(?:\.\d{1,3}){3})/")


@dataclass(frozen=True)
class DiscoveredPhone:
    adb_serial: str
    model: str
    identity: HarvestedIdentity
    ipv4: str | None  # wlan0's address, when it has one

    @property
    def adb_connect(self) -> str | None:
        """The adb serial when the phone was attached with `adb connect` (host:port)."""
        try:
            validators.host_port(self.adb_serial)
        except InvalidValue:
            return None
        return self.adb_serial


def display_name(adb_serial: str) -> str:
    """How a phone is named on the terminal: a USB serial is an identifier, so it is masked."""
    try:
        validators.host_port(adb_serial)
    except InvalidValue:
        return mask(adb_serial)
    return adb_serial


def discover_phone(phone: ShellProtocol, adb_serial: str) -> DiscoveredPhone:
    """Harvest a phone's identity, model and wlan0 address."""
    identity = harvest_identity(phone)
    model = phone.shell(["getprop", "ro.product.model"]).strip()
    ipv4 = None
    match = _INET.search(phone.shell(["ip", "-4", "addr", "show", "wlan0"]))
    if match:
        try:
            ipv4 = validators.ipv4(match.group(1))
        except InvalidValue:
            ipv4 = None
    return DiscoveredPhone(adb_serial, model, identity, ipv4)


def split_usable(
    phones: Sequence[DiscoveredPhone],
) -> tuple[list[DiscoveredPhone], list[tuple[DiscoveredPhone, str]]]:
    """The phones devices.yaml can hold, and the others with the reason (masked)."""
    usable: list[DiscoveredPhone] = []
    left_out: list[tuple[DiscoveredPhone, str]] = []
    owners: dict[str, DiscoveredPhone] = {}
    for phone in phones:
        reason = _unusable(phone, owners)
        if reason:
            left_out.append((phone, reason))
            continue
        usable.append(phone)
        owners.update((value, phone) for value in _identifiers(phone))
    return usable, left_out


def _unusable(phone: DiscoveredPhone, owners: dict[str, DiscoveredPhone]) -> str | None:
    identity = phone.identity
    if not identity.imei:
        return f"no IMEI read ({_one_line(identity.missing.get('imei', 'no reason given'))})"
    for imei in identity.imei:
        try:
            validators.imei(imei)
        except InvalidValue:
            return f"its IMEI {mask(imei)} fails the Luhn check devices.yaml requires"
    for value in _identifiers(phone):
        if value in owners:
            return f"it reports {mask(value)}, as {display_name(owners[value].adb_serial)} does"
    return None


def _identifiers(phone: DiscoveredPhone) -> list[str]:
    identity = phone.identity
    iccid = identity.iccid.rstrip("Ff") if identity.iccid else None
    return [v for v in (*identity.imei, iccid, identity.imsi, identity.wifi_mac) if v]


@dataclass
class _Used:
    """Values already written or taken: the loader wants them unique across the rack."""

    serials: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)  # written
    reserved: set[str] = field(default_factory=set)  # some phone's own wlan0 address


# Refused by the loader until a person writes the bench's own coordinates in.
PLACEHOLDER_LOCATION = "{lat: 0.0, lon: 0.0, radius_km: 50}"


def as_filled_in(text: str) -> str:
    """The skeleton with some real coordinates in place of the placeholder location: what
    the loader will see once a person has filled it in, to check everything else now."""
    return text.replace(f"location: {PLACEHOLDER_LOCATION}", "location: {lat: 1, lon: 1}", 1)


def render_rack(
    phones: Sequence[DiscoveredPhone], adb_host: str, adb_port: int, note: Sequence[str] = ()
) -> str:
    """devices.yaml for these phones; `note` lines become comments at the top."""
    used = _Used(reserved={phone.ipv4 for phone in phones if phone.ipv4})
    lines = [
        f"# Written by `bench discover` from the adb server at {adb_host}:{adb_port}.",
        "# Every key is documented in docs/devices-yaml.md. Fill in the lines marked TODO;",
        "# the identities were read from the phones and are checked again before every run.",
        *(f"# {line}" for line in note),
        "bench:",
        '  name: "discovered-bench"  # TODO: the bench\'s name in reports',
        "  # TODO: where the bench is: a phone reporting a location near here leaks it.",
        "  # The loader refuses 0, 0 until the bench's own latitude and longitude are here.",
        f"  location: {PLACEHOLDER_LOCATION}",
        "  gateway:",
        "    # TODO: the interface the phones' traffic crosses (the bench's side of the gateway)",
        "    interface: CHANGEME",
        "  adb:",
        f"    host: {_quoted(adb_host)}",
        f"    port: {adb_port}",
        "",
        "devices:",
    ]
    for phone in phones:
        lines += _device_lines(phone, used)
    return "\n".join(lines) + "\n"


def _device_lines(phone: DiscoveredPhone, used: _Used) -> list[str]:
    identity = phone.identity
    serial = _bench_serial(phone, used)
    model = _one_line(phone.model)
    lines = [f"  - serial: {_quoted(serial)}", f"    model: {_quoted(model or 'unknown')}"]
    if not model:
        lines[-1] += "  # TODO: `getprop ro.product.model` was empty"
    if phone.adb_connect:
        lines.append(
            f"    adb_connect: {_quoted(phone.adb_connect)}  # attached with `adb connect`"
        )
    lines.append(f"    # {_android(identity.sdk)}; identity read over adb")
    lines.append("    network:")
    if phone.ipv4 and phone.ipv4 not in used.addresses:
        used.addresses.add(phone.ipv4)
        lines.append(
            f"      ipv4: {phone.ipv4}  # wlan0's address: check the gateway sees this one"
        )
    else:
        lines.append(
            f"      ipv4: {_placeholder(used)}  # TODO: a placeholder; its address as the "
            "gateway sees it"
        )
    if identity.wifi_mac:
        lines.append(f"      mac: {_quoted(identity.wifi_mac)}  # wlan0's MAC")
    lines.append("    identity:")
    lines.append(f"      imei: [{', '.join(_quoted(imei) for imei in identity.imei)}]")
    for meid in identity.meid:
        lines.append(
            f"      # TODO meid {_quoted(meid)}: a CDMA device id the phone reports instead of "
            "an IMEI; devices.yaml has no key for it, so the detector does not look for it"
        )
    iccid = identity.iccid.rstrip("Ff") if identity.iccid else None  # the SIM's filler nibble
    values = (
        ("iccid", iccid, validators.iccid),
        ("imsi", identity.imsi, validators.imsi),
        ("serial", identity.serial, validators.word),
        ("wifi_mac", identity.wifi_mac, validators.mac),
    )
    for key, value, check in values:
        if value is None:
            reason = identity.missing.get(key, "not reported")
            lines.append(f"      # TODO {key}: the phone reported none ({_one_line(reason)})")
            continue
        try:
            lines.append(f"      {key}: {_quoted(check(value))}")
        except InvalidValue as error:
            lines.append(
                f"      # TODO {key}: devices.yaml cannot hold what the phone reported: {error}"
            )
    return lines


def _bench_serial(phone: DiscoveredPhone, used: _Used) -> str:
    """The bench's name for the phone: its adb serial over USB, its own serial over TCP."""
    candidates = [phone.adb_serial]
    if phone.adb_connect and phone.identity.serial:
        candidates.insert(0, phone.identity.serial)
    for candidate in candidates:
        try:
            validators.word(candidate)
        except InvalidValue:
            continue
        if candidate not in used.serials:
            used.serials.add(candidate)
            return candidate
    raise ValueError(f"no usable serial for {phone.adb_serial}")  # adb serials are unique words


def _placeholder(used: _Used) -> str:
    for host in range(1, 255):
        address = f"{PLACEHOLDER_NETWORK}.{host}"
        if address not in used.addresses and address not in used.reserved:
            used.addresses.add(address)
            return address
    raise ValueError("more than 254 phones without an address")


def _android(sdk: int | None) -> str:
    if sdk is None:
        return "Android release unknown"
    release = RELEASE_BY_SDK.get(sdk)
    return f"Android {release} (SDK {sdk})" if release else f"SDK {sdk}"


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(value, ensure_ascii=False)


def _one_line(text: str) -> str:
    return " ".join(text.split())
