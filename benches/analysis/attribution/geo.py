"""Where an address is and who owns it.

Sources, in this order:

1. the overlay: the virtual rack's simulated endpoints (loopback addresses
   that stand for a country and an owner, from devices.yaml ``virtual``;
   :meth:`GeoDatabase.for_rack` builds the database of a rack with it);
2. the bench's own network: loopback, private, link-local, unspecified and
   local-scope multicast/broadcast addresses are ``LOCAL``, never a region;
   an IPv6 address that stands for an IPv4 one (NAT64, 6to4, Teredo,
   IPv4-mapped: :mod:`~benches.analysis.attribution.embedded`) is placed as
   its IPv4 is, and the ``Place`` keeps the embedding to show both (an IPv4
   of the bench's network inside a 6to4 or Teredo address is no valid
   address: such an address, and one whose IPv4 cannot be read, is placed as
   itself, which the signals do not know);
3. two independent country signals, both offline:
   - the first: geoip2fast's bundled database (MaxMind GeoLite2 country + ASN,
     IPv4 and IPv6), or the user's own MaxMind / DB-IP ``.mmdb`` files;
   - the second: iptocc, the Regional Internet Registries' delegation data
     (which country a block was *assigned* to).

A ``Place`` keeps every signal. Its ``country`` is the first signal's (the
second's when the first does not know); ``ruling_country`` judges against a
policy, and picks a signal the policy does not allow when either is not, so
a disagreement can only make a verdict stricter.

An address no signal knows has country None: the policy treats that as
inconclusive, never as allowed.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import functools
import ipaddress
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import iptocc

from benches.analysis.attribution import geoip_cache
from benches.analysis.attribution.embedded import Embedding, embedding
from benches.analysis.attribution.geoip_table import GeoipTable
from benches.inventory.models import Rack
from benches.inventory.virtual import Endpoint

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
RIR_LICENSE = (
    "iptocc package: MIT OR Apache-2.0; data: the RIRs' delegated statistics files "
    "(AFRINIC, APNIC, ARIN, LACNIC, RIPE NCC), published freely"
)
RIR_ATTRIBUTION = (
    "Country of assignment from the Regional Internet Registries' delegated statistics"
)
DBIP_LICENSE = "DB-IP Lite data under CC BY 4.0 (attribution required)"
DBIP_ATTRIBUTION = '<a href="https://db-ip.com">IP Geolocation by DB-IP</a>'
USER_LICENSE = "user-supplied database: see its own licence"
# Registry codes for blocks assigned to a region rather than a country.
_NOT_COUNTRIES = frozenset({"EU", "AP", "ZZ", "XX", "--"})

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


class GeoDataError(ValueError):
    """A geo database file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Place:
    country: str | None  # ISO 3166-1 alpha-2, "LOCAL", or None when unknown
    owner: str | None  # network owner (AS name), when known
    source: str  # "overlay", "local", "geoip2fast", "mmdb", "iptocc" or "invalid"
    # Every signal asked, by source name, in order: {"geoip2fast": "IN", "iptocc": "US"}.
    countries: dict[str, str | None] = field(default_factory=dict, hash=False)
    # The IPv4 this IPv6 address stands for (NAT64, 6to4, ...), which placed it.
    embedded: Embedding | None = None

    @property
    def known_countries(self) -> tuple[str, ...]:
        """The distinct countries the signals named, first signal first."""
        named = [c for c in self.countries.values() if c is not None]
        if not named and self.country is not None:
            named = [self.country]
        return tuple(dict.fromkeys(named))

    @property
    def disagreement(self) -> bool:
        """Whether two signals named different countries."""
        return len(self.known_countries) > 1

    def describe(self) -> str:
        """The signals for people: "IN (geoip2fast) / US (iptocc)"."""
        if not self.countries:
            return self.country or "?"
        return " / ".join(f"{c or '?'} ({s})" for s, c in self.countries.items())


def ruling_country(place: Place, allowed: Collection[str]) -> str | None:
    """The country a policy should judge: a signal's country it does not allow, if any.

    Signals that agree, or an unknown beside a known one, change nothing; two
    that disagree make the stricter reading win.
    """
    for country in place.known_countries:
        if country != LOCAL and country not in allowed:
            return country
    return place.country


@dataclass(frozen=True)
class Signal:
    """One source's answer for an address."""

    country: str | None
    owner: str | None = None


class CountrySource(Protocol):
    """A country signal: geoip2fast, an mmdb file, the RIR data (or a test's stand-in)."""

    name: str

    def lookup(self, address: IPAddress) -> Signal: ...

    def info(self) -> dict[str, Any]: ...


class GeoDatabase:
    """Country and owner of an address: overlay first, then local, then the signals."""

    def __init__(
        self,
        overlay: Sequence[Endpoint] = (),
        *,
        data_file: str = DATA_FILE,
        mmdb: Path | Sequence[Path] | None = None,
        sources: Sequence[CountrySource] | None = None,
    ) -> None:
        """``mmdb``: MaxMind or DB-IP files (say a country one and an ASN one) that
        replace geoip2fast as the first signal. ``sources`` replaces both signals.
        Raises GeoDataError for an mmdb file that is missing or unreadable."""
        self.data_file = data_file
        self._described: list[dict[str, Any]] | None = None  # what info() tells of sources
        self._overlay: dict[IPAddress, Place] = {}
        for endpoint in overlay:
            address = _address(endpoint.address)
            if address is not None:
                self._overlay[address] = Place(
                    endpoint.country, endpoint.owner, "overlay", {"overlay": endpoint.country}
                )
        if sources is not None:
            self.sources = tuple(sources)
        else:
            first: CountrySource
            if mmdb is None:
                first = Geoip2fastSource(data_file)
            else:
                first = MmdbSource([mmdb] if isinstance(mmdb, str | Path) else list(mmdb))
            self.sources = (first, RirSource())

    @classmethod
    def for_rack(cls, rack: Rack, mmdb: Path | Sequence[Path] | None = None) -> GeoDatabase:
        """The database a rack's traffic is placed with: the virtual rack's endpoints (when
        the rack is virtual) as the overlay, on top of the signals (``mmdb``: as for
        ``__init__``)."""
        return cls(rack.virtual.endpoints if rack.virtual else (), mmdb=mmdb)

    def lookup(self, ip: str) -> Place:
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return Place(None, None, "invalid")
        place = self._overlay.get(address)
        if place is not None:
            return place
        if isinstance(address, ipaddress.IPv6Address):
            inside = embedding(address)
            if inside is not None:
                return replace(self._embedded(address, inside), embedded=inside)
        return self._place(address)

    def _embedded(self, address: ipaddress.IPv6Address, inside: Embedding) -> Place:
        """The place of the IPv4 inside an IPv6 address; the IPv6 address's own when the
        IPv4 cannot be read, or is the bench's own inside a 6to4 or Teredo address (a
        relay somewhere on the Internet carries those: the bench's network says
        nothing of where)."""
        if inside.address is None:
            return self._place(address)
        place = self.lookup(inside.address)
        if place.source == "local" and inside.relayed:
            return self._place(address)
        return place

    def _place(self, address: IPAddress) -> Place:
        if is_local(address):
            return Place(LOCAL, LOCAL_OWNER, "local", {"local": LOCAL})
        signals = [(source.name, source.lookup(address)) for source in self.sources]
        countries = {name: signal.country for name, signal in signals}
        owner = next((s.owner for _, s in signals if s.owner), None)
        answered = next(((n, s) for n, s in signals if s.country is not None), None)
        if answered is None:
            return Place(None, owner, signals[0][0] if signals else "none", countries)
        return Place(answered[1].country, owner, answered[0], countries)

    def load(self) -> None:
        """Load the data, and describe it, now rather than at the first lookup (say while
        others work).

        A source that fails to load is left alone: the lookup that needs it fails
        the same way, and one that never does must not.
        """
        for source in self.sources:
            if isinstance(source, Geoip2fastSource):
                with contextlib.suppress(Exception):  # raised again by the lookup
                    _geoip2fast(source.data_file)
        with contextlib.suppress(Exception):  # raised again by info()
            self._described = [source.info() for source in self.sources]

    def info(self) -> dict[str, Any]:
        """Every source: what it is, how old, under which licence (for reports).

        The top-level keys describe the first signal; ``sources`` lists them all.
        """
        if self._described is None:
            self._described = [source.info() for source in self.sources]
        described = copy.deepcopy(self._described)
        first = described[0] if described else {}
        return {
            "database": first.get("database"),
            "source": first.get("source", ""),
            "date": first.get("date"),
            "package": first.get("package", ""),
            "license": first.get("license", ""),
            "attribution": first.get("attribution", ""),
            "overlay": len(self._overlay),
            "sources": described,
        }

    def close(self) -> None:
        for source in self.sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()


# --- the signals ------------------------------------------------------------


class Geoip2fastSource:
    """geoip2fast's bundled GeoLite2 country + ASN data, loaded on first use."""

    name = "geoip2fast"

    def __init__(self, data_file: str = DATA_FILE) -> None:
        self.data_file = data_file

    def lookup(self, address: IPAddress) -> Signal:
        return geoip2fast_signal(_geoip2fast(self.data_file), address)

    def info(self) -> dict[str, Any]:
        reader = _geoip2fast(self.data_file)
        # get_database_info() says the same, after decompressing the file again and
        # counting every network (a third of a second).
        source = getattr(reader, "source_info", None)
        if not isinstance(source, str):
            source = str(reader.get_database_info().get("source_info", ""))
        return {
            "name": self.name,
            "database": self.data_file,
            "source": source,
            "date": _date(source),
            "package": f"geoip2fast {_version('geoip2fast')}",
            "license": LICENSE,
            "attribution": ATTRIBUTION,
        }


def geoip2fast_signal(data: Any, address: IPAddress) -> Signal:
    """What geoip2fast's data says of an address: ``data`` is its reader, or the bench's
    table of it (which answers as the reader does)."""
    if not isinstance(data, GeoipTable):
        detail = data.lookup(str(address))
        code, owner = detail.country_code, getattr(detail, "asn_name", "")
    elif isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        code, owner = data.invalid, ""  # the reader reads no "%scope" address
    else:
        code, owner = data.answer(int(address))
    return Signal(code if _known(code) else None, owner or None)


class RirSource:
    """iptocc: the RIRs' delegation files, compiled into the wheel."""

    name = "iptocc"

    def lookup(self, address: IPAddress) -> Signal:
        code = iptocc.country_code(str(address))
        return Signal(code if _known(code) else None)

    def info(self) -> dict[str, Any]:
        version = _version("iptocc")
        return {
            "name": self.name,
            "database": "RIR delegated statistics (compiled into the iptocc wheel)",
            "source": f"RIR delegated stats as of iptocc {version}",
            # The wheel records no data date. Its build date bounds it: the data is
            # compiled in at build, from files refreshed nightly.
            "date": None,
            "built": _wheel_build_date("iptocc"),
            "package": f"iptocc {version}",
            "license": RIR_LICENSE,
            "attribution": RIR_ATTRIBUTION,
        }


class MmdbSource:
    """The user's MaxMind or DB-IP .mmdb files, asked in order for a country and an owner."""

    name = "mmdb"

    def __init__(self, paths: Sequence[Path | str]) -> None:
        import maxminddb  # only for the user's own files: not loaded otherwise

        self._readers: list[tuple[Path, Any]] = []
        for raw in paths:
            path = Path(raw)
            try:
                reader = maxminddb.open_database(str(path))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                self.close()
                raise GeoDataError(
                    f"{path}: not a readable MaxMind DB file ({_one_line(exc)})"
                ) from exc
            self._readers.append((path, reader))
        if not self._readers:
            raise GeoDataError("no .mmdb file given")

    def lookup(self, address: IPAddress) -> Signal:
        country: str | None = None
        owner: str | None = None
        for path, reader in self._readers:
            record = self._get(path, reader, address)
            if not isinstance(record, dict):
                continue
            country = country or _mmdb_country(record)
            owner = owner or _mmdb_owner(record)
        return Signal(country, owner)

    @staticmethod
    def _get(path: Path, reader: Any, address: IPAddress) -> object:
        import maxminddb

        try:
            return reader.get(str(address))
        except ValueError:
            return None  # an IPv6 address in an IPv4-only database
        except maxminddb.InvalidDatabaseError as exc:
            raise GeoDataError(f"{path}: corrupt MaxMind DB file ({_one_line(exc)})") from exc

    def info(self) -> dict[str, Any]:
        files = [_mmdb_metadata(path, reader) for path, reader in self._readers]
        types = ", ".join(f["database_type"] for f in files)
        dates = sorted(f["build_date"] for f in files)
        dbip = any(f["database_type"].upper().startswith("DBIP") for f in files)
        maxmind = any(f["database_type"].startswith("GeoLite2") for f in files)
        license_ = LICENSE if maxmind else DBIP_LICENSE if dbip else USER_LICENSE
        attribution = ATTRIBUTION if maxmind else DBIP_ATTRIBUTION if dbip else ""
        return {
            "name": self.name,
            "database": ", ".join(str(p) for p, _ in self._readers),
            "source": f"mmdb: {types}",
            "date": dates[-1] if dates else None,
            "package": f"maxminddb {_version('maxminddb')}",
            "license": license_,
            "attribution": attribution,
            "files": files,
        }

    def close(self) -> None:
        for _, reader in self._readers:
            reader.close()


def _mmdb_country(record: dict[str, Any]) -> str | None:
    # GeoIP2/GeoLite2 and DB-IP country or city records; registered_country when
    # the block has no location of its own (anycast, satellite).
    for key in ("country", "registered_country"):
        entry = record.get(key)
        code = entry.get("iso_code") if isinstance(entry, dict) else None
        if isinstance(code, str) and _known(code):
            return code.upper()
    return None


def _mmdb_owner(record: dict[str, Any]) -> str | None:
    for key in ("autonomous_system_organization", "organization", "isp"):
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _mmdb_metadata(path: Path, reader: Any) -> dict[str, Any]:
    meta = reader.metadata()
    built = datetime.datetime.fromtimestamp(int(meta.build_epoch), datetime.UTC)
    return {
        "file": str(path),
        "database_type": str(meta.database_type),
        "build_date": built.date().isoformat(),
        "ip_version": int(meta.ip_version),
        "description": dict(meta.description or {}).get("en", ""),
    }


# --- addresses ---------------------------------------------------------------


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
        return address.ipv4_mapped  # the databases misread IPv4-mapped IPv6
    return address


def _known(code: str | None) -> bool:
    """An ISO 3166-1 alpha-2 code: two ASCII letters (a database's "\x1b[" is no country)."""
    if not code or len(code) != 2 or not (code.isascii() and code.isalpha()):
        return False
    return code.upper() not in _NOT_COUNTRIES


@functools.cache
def _geoip2fast(data_file: str) -> Any:
    """geoip2fast's data, loaded once per process: the bench's table of it when one is kept
    for that data file (milliseconds, :mod:`geoip_cache`), else geoip2fast's own reader
    (a third of a second of CPU), of which a table is then kept for the next process."""
    table = geoip_cache.load(data_file)
    if table is not None:
        return table
    from geoip2fast import GeoIP2Fast

    key = geoip_cache.data_key(data_file)  # before the reader reads the file
    reader = GeoIP2Fast(geoip2fast_data_file=data_file, verbose=False)
    geoip_cache.store(reader, key)
    return reader


def _version(package: str) -> str:
    from importlib import metadata  # a twentieth of a second to import: only when asked

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _wheel_build_date(package: str) -> str | None:
    """When the installed wheel was built, from its CycloneDX SBOM (PEP 770), if it has one."""
    from importlib import metadata

    try:
        for file in metadata.distribution(package).files or ():
            if "sboms/" in str(file) and str(file).endswith(".json"):
                stamp = json.loads(file.read_text())["metadata"]["timestamp"]
                return str(stamp)[:10] if re.match(r"\d{4}-\d{2}-\d{2}", str(stamp)) else None
    except (metadata.PackageNotFoundError, OSError, ValueError, KeyError, TypeError):
        return None
    return None


def _date(source: str) -> str | None:
    """The database date from its source string: "...-en-20240618" → "2024-06-18"."""
    found = re.search(r"(20\d{2})(\d{2})(\d{2})\b", source)
    return "-".join(found.groups()) if found else None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
