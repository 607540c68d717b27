"""Two country signals, a policy-relative ruling, and the user's own .mmdb files."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.attribution.geo import (
    LOCAL,
    GeoDatabase,
    GeoDataError,
    IPAddress,
    Place,
    Signal,
    ruling_country,
)
from benches.inventory.virtual import Endpoint
from tests.support.mmdb import write_mmdb
from tests.support.pcaps import CN_IP, FOTA_IP, make_rack

CN_OVERLAY = Endpoint(host="zfhmd.vnet.cn", address="127.0.86.10", country="CN", owner="Chinanet")
GEO = GeoDatabase([CN_OVERLAY])
# AWS ap-south-1 (Mumbai): GeoLite2 places it in India, the RIR assignment is Amazon's, in
# the US. Both datasets ship inside pinned wheels, so the disagreement is stable.
SPLIT_IP = "13.126.129.32"


# --- both bundled signals ----------------------------------------------------


def test_public_address_carries_both_signals() -> None:
    place = GEO.lookup("202.102.94.1")
    assert (place.country, place.source) == ("CN", "geoip2fast")
    assert place.countries == {"geoip2fast": "CN", "iptocc": "CN"}
    assert not place.disagreement
    assert place.owner


def test_real_disagreement_is_recorded() -> None:
    place = GEO.lookup(SPLIT_IP)
    assert place.countries == {"geoip2fast": "IN", "iptocc": "US"}
    assert place.country == "IN"  # the first signal, until a policy rules
    assert place.disagreement
    assert place.known_countries == ("IN", "US")
    assert place.describe() == "IN (geoip2fast) / US (iptocc)"


def test_a_disagreement_only_makes_the_ruling_stricter() -> None:
    place = GEO.lookup(SPLIT_IP)
    assert ruling_country(place, frozenset({"IN"})) == "US"
    assert ruling_country(place, frozenset({"US"})) == "IN"
    assert ruling_country(place, frozenset({"IN", "US"})) == "IN"
    assert ruling_country(place, frozenset()) == "IN"


def test_local_and_overlay_places_keep_one_signal() -> None:
    local = GEO.lookup("192.168.1.1")
    assert local == Place(LOCAL, "bench network", "local", {"local": LOCAL})
    assert ruling_country(local, frozenset()) == LOCAL
    overlay = GEO.lookup("127.0.86.10")
    assert (overlay.country, overlay.source, overlay.countries) == (
        "CN",
        "overlay",
        {"overlay": "CN"},
    )
    assert ruling_country(overlay, frozenset({"FI"})) == "CN"
    assert ruling_country(overlay, frozenset({"CN"})) == "CN"


def test_a_rack_database_has_the_virtual_racks_overlay_and_a_real_racks_none(
    tmp_path: Path,
) -> None:
    rack = make_rack()
    geo = GeoDatabase.for_rack(rack)
    assert geo.lookup(CN_IP) == Place("CN", "Chinanet", "overlay", {"overlay": "CN"})
    assert geo.lookup(FOTA_IP).country == "FI"
    real = GeoDatabase.for_rack(dataclasses.replace(rack, virtual=None))
    assert real.lookup(CN_IP).source == "local"  # a loopback address, nothing more
    path = write_mmdb(
        tmp_path / "dbip.mmdb",
        "DBIP-Country-Lite",
        [("8.8.8.0/24", {"country": {"iso_code": "us"}})],
    )
    mine = GeoDatabase.for_rack(rack, mmdb=path)
    assert (mine.lookup("8.8.8.8").source, mine.lookup(CN_IP).source) == ("mmdb", "overlay")
    mine.close()


def test_reserved_ranges_are_unknown_to_both() -> None:
    place = GEO.lookup("198.51.100.7")
    assert place.country is None
    assert place.countries == {"geoip2fast": None, "iptocc": None}
    assert ruling_country(place, frozenset({"FI"})) is None
    assert GEO.lookup("bogus") == Place(None, None, "invalid")


def test_ipv4_mapped_ipv6_asks_both_signals_about_the_ipv4_address() -> None:
    assert GEO.lookup("::ffff:202.102.94.1").countries == {"geoip2fast": "CN", "iptocc": "CN"}


# --- the seam: any source ---------------------------------------------------------


class Fixed:
    """A country signal with fixed answers."""

    def __init__(self, name: str, answers: dict[str, Signal]) -> None:
        self.name = name
        self.answers = answers

    def lookup(self, address: IPAddress) -> Signal:
        return self.answers.get(str(address), Signal(None))

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "source": f"fixed {self.name}", "date": "2024-01-01"}


def _forced(first: dict[str, Signal], second: dict[str, Signal]) -> GeoDatabase:
    return GeoDatabase(sources=[Fixed("first", first), Fixed("second", second)])


def test_forced_disagreement() -> None:
    geo = _forced({"203.0.113.1": Signal("FI", "Elisa")}, {"203.0.113.1": Signal("RU")})
    place = geo.lookup("203.0.113.1")
    assert (place.country, place.owner, place.source) == ("FI", "Elisa", "first")
    assert place.countries == {"first": "FI", "second": "RU"}
    assert ruling_country(place, frozenset({"FI", "SE"})) == "RU"


def test_an_unknown_first_signal_falls_back_to_the_second() -> None:
    geo = _forced({}, {"203.0.113.2": Signal("SE")})
    place = geo.lookup("203.0.113.2")
    assert (place.country, place.source) == ("SE", "second")
    assert not place.disagreement
    assert ruling_country(place, frozenset({"SE"})) == "SE"


def test_no_signal_knows() -> None:
    place = _forced({}, {}).lookup("203.0.113.3")
    assert (place.country, place.source) == (None, "first")
    assert place.describe() == "? (first) / ? (second)"


def test_info_lists_every_source() -> None:
    info = _forced({}, {}).info()
    assert [s["name"] for s in info["sources"]] == ["first", "second"]
    assert info["source"] == "fixed first"


def test_bundled_info_names_both_datasets_versions_and_licences() -> None:
    info = GEO.info()
    assert info["package"] == "geoip2fast 1.2.2"  # the first signal, as before
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info["date"])
    geoip, rir = info["sources"]
    assert geoip["name"] == "geoip2fast" and "CC BY-SA 4.0" in geoip["license"]
    assert rir["name"] == "iptocc"
    assert re.fullmatch(r"iptocc \d+\.\d+\.\d+", rir["package"])
    assert rir["source"] == f"RIR delegated stats as of {rir['package']}"
    assert "MIT OR Apache-2.0" in rir["license"]
    assert rir["built"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", rir["built"])


# --- a user's .mmdb ----------------------------------------------------------------


def test_mmdb_replaces_geoip2fast_as_the_first_signal(tmp_path: Path) -> None:
    country = write_mmdb(
        tmp_path / "country.mmdb",
        "GeoLite2-Country",
        [
            ("202.102.94.0/24", {"country": {"iso_code": "HK"}}),
            ("2001:db8::/32", {"country": {"iso_code": "FI"}}),
            ("198.51.100.0/24", {"registered_country": {"iso_code": "US"}}),
        ],
    )
    asn = write_mmdb(
        tmp_path / "asn.mmdb",
        "GeoLite2-ASN",
        [("202.102.94.0/23", {"autonomous_system_organization": "Test Telecom"})],
    )
    geo = GeoDatabase(mmdb=[country, asn])
    place = geo.lookup("202.102.94.1")
    assert (place.country, place.owner, place.source) == ("HK", "Test Telecom", "mmdb")
    assert place.countries == {"mmdb": "HK", "iptocc": "CN"}
    assert ruling_country(place, frozenset({"HK"})) == "CN"
    assert geo.lookup("2001:db8::1").countries["mmdb"] == "FI"
    assert geo.lookup("198.51.100.9").country == "US"  # registered_country when no country
    assert geo.lookup("192.0.2.1").countries == {"mmdb": None, "iptocc": None}
    info = geo.info()
    assert info["source"] == "mmdb: GeoLite2-Country, GeoLite2-ASN"
    assert info["date"] == "2024-05-01"
    assert "MaxMind" in info["attribution"]
    files = info["sources"][0]["files"]
    assert [(f["database_type"], f["build_date"]) for f in files] == [
        ("GeoLite2-Country", "2024-05-01"),
        ("GeoLite2-ASN", "2024-05-01"),
    ]
    assert info["sources"][1]["name"] == "iptocc"
    geo.close()


def test_mmdb_accepts_a_single_path_and_names_dbip(tmp_path: Path) -> None:
    path = write_mmdb(
        tmp_path / "dbip.mmdb",
        "DBIP-Country-Lite",
        [("8.8.8.0/24", {"country": {"iso_code": "us"}})],
    )
    geo = GeoDatabase(mmdb=path)
    assert geo.lookup("8.8.8.8").country == "US"
    assert "CC BY 4.0" in geo.info()["license"]


@pytest.mark.parametrize(
    "content",
    [None, b"", b"not a database at all", b"\xab\xcd\xefMaxMind.com\xe0"],
    ids=["missing", "empty", "text", "bad-metadata"],
)
def test_bad_mmdb_is_a_one_line_error_naming_the_file(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "broken.mmdb"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GeoDataError) as caught:
        GeoDatabase(mmdb=path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_truncated_mmdb_is_refused(tmp_path: Path) -> None:
    good = write_mmdb(
        tmp_path / "good.mmdb", "Test", [("8.8.8.0/24", {"country": {"iso_code": "US"}})]
    )
    cut = tmp_path / "cut.mmdb"
    cut.write_bytes(good.read_bytes()[:20])
    with pytest.raises(GeoDataError, match="cut.mmdb"):
        GeoDatabase(mmdb=cut)


# --- fuzz ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.ip_addresses().map(str), st.text(max_size=40)))
def test_lookup_never_raises(ip: str) -> None:
    place = GEO.lookup(ip)
    if place.source not in ("invalid", "local", "overlay"):
        assert set(place.countries) == {"geoip2fast", "iptocc"}
    assert ruling_country(place, frozenset({"FI"})) in (*place.known_countries, place.country)


def test_an_mmdb_country_that_is_not_two_letters_is_unknown(tmp_path: Path) -> None:
    """A hostile database's iso_code "\\x1b[" passed for a country, and reached the terminal."""
    path = write_mmdb(
        tmp_path / "city.mmdb",
        "GeoLite2-City",
        [
            ("1.2.3.0/24", {"country": {"iso_code": "\x1b["}}),
            ("5.6.7.0/24", {"country": {"iso_code": "Z9"}}),
        ],
    )
    geo = GeoDatabase(mmdb=path)
    assert geo.lookup("1.2.3.4").countries["mmdb"] is None
    assert geo.lookup("5.6.7.8").countries["mmdb"] is None
