"""IPv6 addresses that stand for an IPv4 one: which IPv4, read by the RFCs' layouts."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.attribution.embedded import (
    IPV4_MAPPED,
    NAT64,
    NAT64_LOCAL,
    RFC6052_LENGTHS,
    SIX_TO_FOUR,
    TEREDO,
    Embedding,
    embedding,
    rfc6052_ipv4,
    synthesize,
)

# RFC 6052 section 2.4: 192.0.2.33 under a prefix of every length the RFC defines.
RFC6052_VECTORS = (
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100::"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
    ("64:ff9b::/96", "64:ff9b::192.0.2.33"),
)
V4 = "192.0.2.33"


def packed(text: str) -> bytes:
    return ipaddress.IPv6Address(text).packed


def inside(text: str) -> Embedding | None:
    return embedding(ipaddress.IPv6Address(text))


@pytest.mark.parametrize(("prefix", "address"), RFC6052_VECTORS)
def test_the_rfc6052_vectors_read_and_write(prefix: str, address: str) -> None:
    length = ipaddress.IPv6Network(prefix).prefixlen
    assert rfc6052_ipv4(packed(address), length) == V4
    assert ipaddress.IPv6Address(synthesize(prefix, V4)) == ipaddress.IPv6Address(address)


def test_the_u_octet_is_stepped_over_and_must_be_zero() -> None:
    """Bits 64..71 are never part of the IPv4: a reader that takes 4 bytes straight after
    a /40, /48 or /56 prefix gets another address."""
    assert rfc6052_ipv4(packed("2001:db8:122:c000:2:2100::"), 48) == V4
    assert rfc6052_ipv4(packed("2001:db8:122:c000:102:2100::"), 48) is None  # u-octet 0x01
    assert rfc6052_ipv4(packed("2001:db8::"), 36) is None  # no such layout
    assert rfc6052_ipv4(b"\x00" * 4, 96) is None


def test_the_well_known_nat64_prefix() -> None:
    assert inside("64:ff9b::c000:221") == Embedding(NAT64, V4, "64:ff9b::/96")
    assert inside("64:ff9b::202.102.94.1") == Embedding(NAT64, "202.102.94.1", "64:ff9b::/96")


def test_the_local_use_prefix_is_read_in_the_rfc6052_48_layout() -> None:
    """RFC 8215's 64:ff9b:1::/48: the IPv4 is bits 48..63 and 72..87, around the u-octet."""
    address = synthesize("64:ff9b:1::/48", V4)
    assert address == "64:ff9b:1:c000:2:2100::"
    assert inside(address) == Embedding(NAT64_LOCAL, V4, "64:ff9b:1::/48")
    # The naive reading (the 4 bytes after the prefix) would say 192.0.0.2.
    assert inside("64:ff9b:1:100:1:100::") == Embedding(NAT64_LOCAL, "1.0.1.1", "64:ff9b:1::/48")


def test_the_local_use_prefix_as_a_96() -> None:
    """64:ff9b:1::/96, as many translators are set up: not a well-formed /48 address
    (its suffix is not zero), and bits 48..95 are zero."""
    assert inside("64:ff9b:1::c000:221") == Embedding(NAT64_LOCAL, V4, "64:ff9b:1::/96")


def test_a_local_use_address_of_an_unknown_more_specific_prefix_has_no_ipv4() -> None:
    """A /56, /64 or /96 of the network's choosing inside 64:ff9b:1::/48: which bits hold
    the IPv4 is not knowable from the address, so none is claimed."""
    for address in ("64:ff9b:1:abcd::c000:221", "64:ff9b:1:c000:102:2100::"):
        found = inside(address)
        assert found == Embedding(NAT64_LOCAL, None, "64:ff9b:1::/48")
        assert found is not None and "not readable" in found.describe()


def test_6to4_carries_the_routers_ipv4_in_bits_16_to_47() -> None:
    assert inside("2002:c000:221:1::5") == Embedding(SIX_TO_FOUR, V4, "2002::/16")


def test_teredo_recipient_is_the_client_and_the_server_is_shown() -> None:
    """RFC 4380 section 4: server 65.54.227.120, client 192.0.2.45 (inverted), port 40000."""
    found = inside("2001:0:4136:e378:8000:63bf:3fff:fdd2")
    assert found == Embedding(TEREDO, "192.0.2.45", "2001::/32", server="65.54.227.120")
    assert found is not None
    assert found.describe() == "Teredo client 192.0.2.45 (server 65.54.227.120)"
    assert not found.translated and found.relayed


def test_ipv4_mapped() -> None:
    found = inside("::ffff:202.102.94.1")
    assert found == Embedding(IPV4_MAPPED, "202.102.94.1", "::ffff:0:0/96")
    assert found is not None and found.translated


@pytest.mark.parametrize(
    "address",
    [
        "2a00:1450:4001:80b::200e",  # an ordinary global address
        "2001:db8::1",
        "2001:1::1",  # 2001:1::/32 is not Teredo
        "2001:4860:4860::8888",
        "64:ff9b::1:0:0:1",  # in 64:ff9b::/64, outside the /96
        "64:ff9b:2::1",  # outside the local-use /48
        "2003:c000:221::1",
        "::c000:221",  # IPv4-compatible (deprecated): not read
        "::1",
        "fe80::1",
    ],
)
def test_other_addresses_embed_nothing(address: str) -> None:
    assert inside(address) is None


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(RFC6052_LENGTHS),
    st.binary(min_size=16, max_size=16),
    st.ip_addresses(v=4),
)
def test_any_prefix_round_trips(length: int, bits: bytes, ipv4: ipaddress.IPv4Address) -> None:
    prefix = ipaddress.IPv6Network((bits, length), strict=False)
    address = synthesize(str(prefix), str(ipv4))
    assert ipaddress.IPv6Address(address) in prefix
    assert rfc6052_ipv4(packed(address), length) == str(ipv4)


@settings(max_examples=500, deadline=None)
@given(st.ip_addresses(v=6))
def test_embedding_never_raises(address: ipaddress.IPv6Address) -> None:
    found = embedding(address)
    if found is not None:
        assert found.address is None or ipaddress.IPv4Address(found.address)
        assert found.describe()
