"""An IPv6 address that stands for an IPv4 one is placed where that IPv4 is.

The countries come from the bundled databases (geoip2fast and iptocc, pinned
wheels): 202.102.94.1 is CN and 8.8.8.8 is US in both.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.attribution.embedded import NAT64, SIX_TO_FOUR, TEREDO, synthesize
from benches.analysis.attribution.geo import LOCAL, GeoDatabase
from benches.inventory.virtual import Endpoint

CN_V4 = "202.102.94.1"
US_V4 = "8.8.8.8"
CN_OVERLAY = Endpoint(host="zfhmd.vnet.cn", address="127.0.86.10", country="CN", owner="Chinanet")
GEO = GeoDatabase([CN_OVERLAY])


def teredo(server: str, client: str) -> str:
    """A Teredo address (RFC 4380 section 4): server, flags, port and client inverted."""
    s = ipaddress.IPv4Address(server).packed
    c = bytes(b ^ 0xFF for b in ipaddress.IPv4Address(client).packed)
    return str(ipaddress.IPv6Address(bytes.fromhex("20010000") + s + b"\x80\x00\x63\xbf" + c))


@pytest.mark.parametrize(
    "address",
    [
        f"64:ff9b::{CN_V4}",
        synthesize("64:ff9b:1::/48", CN_V4),
        f"64:ff9b:1::{CN_V4}",
        "2002:ca66:5e01:1::1",  # 6to4 of 202.102.94.1
        teredo(US_V4, CN_V4),  # the client is the recipient
        f"::ffff:{CN_V4}",
    ],
)
def test_an_embedding_address_is_placed_by_its_ipv4(address: str) -> None:
    plain = GEO.lookup(CN_V4)
    place = GEO.lookup(address)
    assert place.embedded is not None and place.embedded.address == CN_V4
    assert (place.country, place.owner, place.source) == (plain.country, plain.owner, "geoip2fast")
    assert place.countries == plain.countries == {"geoip2fast": "CN", "iptocc": "CN"}


def test_before_the_fix_a_nat64_address_had_no_country() -> None:
    """The motivating bug: 64:ff9b::<IPv4> was looked up as itself, which no database
    places, so the region rule could not fire."""
    nat64 = ipaddress.IPv6Address(f"64:ff9b::{CN_V4}")
    assert all(source.lookup(nat64).country is None for source in GEO.sources)
    assert GEO.lookup(f"64:ff9b::{CN_V4}").country == "CN"


def test_teredo_is_placed_by_the_client_not_the_server() -> None:
    place = GEO.lookup(teredo(CN_V4, US_V4))
    assert place.country == "US"
    assert place.embedded is not None and place.embedded.kind == TEREDO
    assert place.embedded.server == CN_V4


def test_the_overlay_places_an_embedded_ipv4_too() -> None:
    place = GEO.lookup("64:ff9b::127.0.86.10")
    assert (place.country, place.owner, place.source) == ("CN", "Chinanet", "overlay")
    assert place.embedded is not None and place.embedded.kind == NAT64


def test_a_translated_private_ipv4_is_the_bench_network() -> None:
    """NAT64 and IPv4-mapped addresses are the IPv4 host itself: a private one is local,
    as it is when the phone reaches it over IPv4."""
    for address in ("64:ff9b::10.0.0.5", "::ffff:192.168.1.20", "64:ff9b:1:a00:0:500::"):
        place = GEO.lookup(address)
        assert place.country == LOCAL, address
        assert place.embedded is not None


def test_a_relayed_private_ipv4_is_not_local_and_stays_unknown() -> None:
    """6to4 and Teredo go through a relay somewhere on the Internet: a private IPv4 in
    them is no valid address, and the bench's network says nothing of where it goes."""
    for address in ("2002:a00:5::1", teredo(US_V4, "192.168.1.20")):
        place = GEO.lookup(address)
        assert place.country is None, address
        assert place.embedded is not None and place.embedded.kind in (SIX_TO_FOUR, TEREDO)


def test_an_unreadable_local_use_address_stays_unknown() -> None:
    place = GEO.lookup("64:ff9b:1:abcd::c000:221")
    assert place.country is None
    assert place.embedded is not None and place.embedded.address is None


@pytest.mark.parametrize(
    ("address", "country"),
    [("2a00:1450:4001:80b::200e", "DE"), ("2001:4860:4860::8888", "US")],
)
def test_trap_an_ordinary_ipv6_address_is_placed_as_before(address: str, country: str) -> None:
    place = GEO.lookup(address)
    assert place.country == country
    assert place.embedded is None
    assert place.countries["geoip2fast"] == country


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(v=4), st.sampled_from(["64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0/96"]))
def test_a_translated_address_is_placed_exactly_as_its_ipv4(
    ipv4: ipaddress.IPv4Address, prefix: str
) -> None:
    mapped = prefix.startswith("::ffff")
    address = f"::ffff:{ipv4}" if mapped else synthesize(prefix, str(ipv4))
    place, plain = GEO.lookup(address), GEO.lookup(str(ipv4))
    assert place.embedded is not None and place.embedded.address == str(ipv4)
    assert (place.country, place.owner, place.countries) == (
        plain.country,
        plain.owner,
        plain.countries,
    )
