"""The single-value checks, on their own: identifiers, addresses, names, countries."""

from __future__ import annotations

import pytest

from benches.inventory import regions, validators
from benches.inventory.validators import InvalidValue


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("79927398713", True),  # the textbook example
        ("79927398710", False),
        ("352098100123452", True),
        ("352098100123453", False),
        ("0", True),
    ],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert validators.luhn_ok(digits) is ok


def test_digits_are_ascii_only() -> None:
    with pytest.raises(InvalidValue, match="must be 15 digits"):
        validators.imei("35209810012345\u00b2")
    with pytest.raises(InvalidValue, match="must be 15 digits"):
        validators.imei("\u0663" * 15)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("02:00:00:AA:bb:01", "02:00:00:aa:bb:01"),
        ("02-00-00-AA-BB-01", "02:00:00:aa:bb:01"),
    ],
)
def test_mac_is_normalised(text: str, normal: str) -> None:
    assert validators.mac(text) == normal


@pytest.mark.parametrize("text", ["0200.00aa.bb01", "02:00:00:aa:bb", "02:00:00:aa:bb:0g", ""])
def test_mac_rejects(text: str) -> None:
    with pytest.raises(InvalidValue):
        validators.mac(text)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:5555", ("127.0.0.1", 5555)),
        ("phone-7.lab.example:5555", ("phone-7.lab.example", 5555)),
        ("[::1]:5037", ("::1", 5037)),
    ],
)
def test_host_port(text: str, parsed: tuple[str, int]) -> None:
    assert validators.host_port(text) == parsed


@pytest.mark.parametrize("text", [":5555", "host:", "[127.0.0.1]:5555", "host:+5", "h:70000"])
def test_host_port_rejects(text: str) -> None:
    with pytest.raises(InvalidValue):
        validators.host_port(text)


def test_host_name_limits() -> None:
    assert validators.host_name("a" * 63 + ".example") == "a" * 63 + ".example"
    assert validators.host_name("XN--BCHER-KVA.example.") == "xn--bcher-kva.example"
    # The Kelvin sign lower-cases to an ASCII k: the check must look before lowering.
    for bad in (
        "a" * 64 + ".example",
        "-a.example",
        "a-.example",
        "b\u00fccher.example",
        "\u212a.e",
    ):
        with pytest.raises(InvalidValue):
            validators.host_name(bad)


def test_iccid_of_19_digits_needs_no_luhn_but_20_does() -> None:
    assert validators.iccid("8935805100000000011") == "8935805100000000011"
    assert validators.iccid("8935805100000000012") == "8935805100000000012"
    with pytest.raises(InvalidValue, match="Luhn"):
        validators.iccid("89358051000000000112")


@pytest.mark.parametrize("mcc", ["001", "244", "310", "460", "901", "999"])
def test_imsi_accepts_real_mobile_country_codes(mcc: str) -> None:
    assert validators.imsi(mcc + "051000000001") == mcc + "051000000001"


@pytest.mark.parametrize("mcc", ["000", "123", "850", "900"])
def test_imsi_rejects_other_prefixes(mcc: str) -> None:
    with pytest.raises(InvalidValue, match="no mobile country code"):
        validators.imsi(mcc + "051000000001")


def test_loopback_is_127_slash_8() -> None:
    assert validators.loopback_ipv4("127.255.255.254") == "127.255.255.254"
    with pytest.raises(InvalidValue, match="never send anywhere but loopback"):
        validators.loopback_ipv4("128.0.0.1")


@pytest.mark.parametrize("name", ["lo", "eth0", "veth-bench1", "a" * 15])
def test_interface_names(name: str) -> None:
    assert validators.interface_name(name) == name


@pytest.mark.parametrize("name", ["", "a" * 16, "eth0:1", "a/b", "..", "a b"])
def test_interface_names_rejected(name: str) -> None:
    with pytest.raises(InvalidValue):
        validators.interface_name(name)


def test_iso_list_has_every_assigned_code_and_xk() -> None:
    assert len(regions.ISO_3166_ALPHA2) == 249 + 1
    assert {"FI", "CN", "US", "GB", "NO", "XK", "SS", "BQ"} <= regions.ISO_3166_ALPHA2
    assert not {"UK", "EU", "EL", "AN", "YU"} & regions.ISO_3166_ALPHA2
    assert all(len(code) == 2 and code.isupper() for code in regions.ISO_3166_ALPHA2)


def test_group_members_are_iso_codes() -> None:
    for members in regions.COUNTRY_GROUPS.values():
        assert members <= regions.ISO_3166_ALPHA2


def test_countries_expands_a_group_and_normalises_a_code() -> None:
    assert regions.countries("eu") == regions.EU
    assert regions.countries("fi") == {"FI"}
    with pytest.raises(InvalidValue, match="nor a group"):
        regions.countries("Nordics")
