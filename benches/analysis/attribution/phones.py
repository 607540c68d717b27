"""Which rack phone a flow belongs to: by address, and on Ethernet by MAC too.

devices.yaml gives each phone its addresses and its MAC (``network``). On a
real rack DHCP may hand a phone another address; its frames still carry its
MAC, so a flow whose side has a phone's MAC is that phone's, at whatever
address (and says so: "address changed"). A side is matched by MAC first,
then by address (an IPv4 also in its IPv4-mapped IPv6 form, ``::ffff:a.b.c.d``): a
MAC the rack does not know (Android randomises it per network) still leaves the
address to match, so judging only ever widens.

The client side is looked at first, then the server side: a connection a
remote host opened to the phone is the phone's traffic too. A flow with no
phone on either side is another host's, and is not judged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from benches.analysis.attribution.names import canonical
from benches.inventory.models import Rack
from benches.redaction.masks import mask


@dataclass(frozen=True, slots=True)
class FoundPhone:
    serial: str
    address: str  # the phone side's address in the flow
    note: str | None  # "address changed" in words, when the MAC found it elsewhere


class Phones:
    """The rack's phones, by address and by MAC."""

    def __init__(self, rack: Rack) -> None:
        self.by_address: dict[str, str] = {
            canonical(address): d.serial for d in rack.devices for address in d.network.addresses
        }
        self.by_mac: dict[str, str] = {}
        self.addresses: dict[str, tuple[str, ...]] = {}
        for device in rack.devices:
            self.addresses[device.serial] = tuple(canonical(a) for a in device.network.addresses)
            mac = normal_mac(device.network.mac)
            if mac is not None:
                self.by_mac[mac] = device.serial
        self._found: dict[tuple[str, str | None, str, str | None], FoundPhone | None] = {}

    def find(
        self, client_ip: str, client_mac: str | None, server_ip: str, server_mac: str | None
    ) -> FoundPhone | None:
        """The phone of a flow, or None; each distinct combination worked out once."""
        key = (client_ip, client_mac, server_ip, server_mac)
        if key not in self._found:
            self._found[key] = self._side(client_ip, client_mac) or self._side(
                server_ip, server_mac
            )
        return self._found[key]

    def _side(self, ip: str, mac: str | None) -> FoundPhone | None:
        address = canonical(ip)
        serial = self.by_mac.get(mac) if mac is not None else None
        if serial is None or mac is None:
            serial = self.by_address.get(address)
            if serial is None and address.startswith("::ffff:"):
                serial = self.by_address.get(unmapped(address))
            return FoundPhone(serial, address, None) if serial is not None else None
        listed = self.addresses[serial]
        if address in listed or unmapped(address) in listed:
            return FoundPhone(serial, address, None)
        said = ", ".join(listed) if listed else "none"
        shown = mask(mac)  # the MAC is an identifier wherever people read it
        note = (
            f"address changed: the phone's MAC {shown} at {address}, devices.yaml gives it {said}"
        )
        return FoundPhone(serial, address, note)

    def owners(self, found: Iterable[FoundPhone | None]) -> dict[str, str]:
        """Address -> phone serial: devices.yaml's addresses, and every address a phone
        was found at (so its DNS answers there are its own)."""
        owners = dict(self.by_address)
        for phone in found:
            if phone is not None:
                owners[phone.address] = phone.serial
        return owners


def unmapped(address: str) -> str:
    """The IPv4 of an IPv4-mapped IPv6 address ("::ffff:10.0.0.5" -> "10.0.0.5"): a
    phone's IPv4 written so is still the phone; any other address as it is."""
    try:
        mapped = ipaddress.IPv6Address(address).ipv4_mapped
    except ValueError:
        return address
    return str(mapped) if mapped is not None else address


def normal_mac(text: str | None) -> str | None:
    """A MAC as ``aa:bb:cc:dd:ee:ff`` (lower case), from ``:`` or ``-`` separated text;
    None for none or for an unreadable one."""
    if not text:
        return None
    digits = text.replace(":", "").replace("-", "").lower()
    if len(digits) != 12:
        return None
    try:
        return bytes.fromhex(digits).hex(":")
    except ValueError:
        return None
