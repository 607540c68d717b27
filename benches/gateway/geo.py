"""Where an address is and who owns it.

Three sources, in this order:

1. the overlay: the virtual rack's simulated endpoints (loopback addresses
   that stand for a country and an owner, from devices.yaml ``virtual``);
2. the bench's own network: loopback, private, link-local, unspecified and
   local-scope multicast/broadcast addresses are ``LOCAL``, never a region;
3. geoip2fast's bundled database (MaxMind GeoLite2 country + ASN, IPv4 and
   IPv6), loaded once per process, lazily, on the first lookup that needs it.

An address the database does not know has country None: the policy treats
that as inconclusive, never as allowed.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from benches.inventory.models import Endpoint

LOCAL = "LOCAL"
LOCAL_OWNER = "bench network"
DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"
LICENSE = (
    "MaxMind GeoLite2 data under the GeoLite2 End User License Agreement, "
    "which incorporates CC BY-SA 4.0 (attribution required)"
)
ATTRIBUTION = (
    "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/24",  # local network control multicast (mDNS, ...)
        "239.0.0.0/8",  # administratively scoped multicast (SSDP, ...)
        "255.255.255.255/32",  # limited broadcast
        "::/128",
        "::1/128",
        "fe80::/10",
        "fc00::/7",  # unique local
    )
)
# IPv6 multicast scopes up to site-local stay on the bench's network.
_LOCAL_MULTICAST_SCOPES = range(0x1, 0x6)


@dataclass(frozen=True)
class Place:
    country: str | None  # ISO 3166-1 alpha-2, "LOCAL", or None when unknown
    owner: str | None  # network owner (AS name), when known
    source: str  # "overlay", "local", "geoip2fast" or "invalid"


class GeoDatabase:
    """Country and owner of an address: overlay first, then local, then the database."""

    def __init__(self, overlay: Sequence[Endpoint] = (), *, data_file: str = DATA_FILE) -> None:
        self.data_file = data_file
        self._overlay: dict[IPAddress, Place] = {}
        for endpoint in overlay:
            address = _address(endpoint.address)
            if address is not None:
                self._overlay[address] = Place(endpoint.country, endpoint.owner, "overlay")

    def lookup(self, ip: str) -> Place:
        address = _address(ip)
        if address is None:
            return Place(None, None, "invalid")
        place = self._overlay.get(address)
        if place is not None:
            return place
        if is_local(address):
            return Place(LOCAL, LOCAL_OWNER, "local")
        detail = _database(self.data_file).lookup(str(address))
        country = detail.country_code if _known(detail.country_code) else None
        owner = getattr(detail, "asn_name", "") or None
        return Place(country, owner, "geoip2fast")

    def info(self) -> dict[str, Any]:
        """What the database is, how old, and under which licence (for reports)."""
        source = str(_database(self.data_file).get_database_info().get("source_info", ""))
        return {
            "database": self.data_file,
            "source": source,
            "date": _date(source),
            "package": f"geoip2fast {_version()}",
            "license": LICENSE,
            "attribution": ATTRIBUTION,
            "overlay": len(self._overlay),
        }


def is_local(address: IPAddress) -> bool:
    """Whether an address belongs to the bench's own network rather than a region."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _LOCAL_NETWORKS):
        return True
    return (
        isinstance(address, ipaddress.IPv6Address)
        and address.is_multicast
        and (address.packed[1] & 0x0F) in _LOCAL_MULTICAST_SCOPES
    )


def _address(ip: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # the database misreads IPv4-mapped IPv6
    return address


def _known(code: str | None) -> bool:
    return bool(code) and code not in ("--", "XX") and len(code or "") == 2


@functools.cache
def _database(data_file: str) -> Any:
    """The geoip2fast reader, loaded once per process (about half a second)."""
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file=data_file, verbose=False)


def _version() -> str:
    try:
        return metadata.version("geoip2fast")
    except metadata.PackageNotFoundError:
        return "unknown"


def _date(source: str) -> str | None:
    """The database date from its source string: "...-en-20240618" → "2024-06-18"."""
    found = re.search(r"(20\d{2})(\d{2})(\d{2})\b", source)
    return "-".join(found.groups()) if found else None
