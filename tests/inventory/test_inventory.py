"""devices.yaml → Rack: the shipped file, defaults, and every error naming file:line:key."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from benches.inventory import InventoryError, load_rack
from benches.inventory.models import AdbServerConfig, GatewayConfig, Timings
from tests.support.paths import REPO
from tests.support.rack_yaml import RACK, VIRTUAL_RACK, edited, line_of, rack_error

# --- the shipped file -------------------------------------------------------


def test_shipped_devices_yaml_loads_the_virtual_rack() -> None:
    rack = load_rack(REPO / "devices.yaml")

    assert [d.serial for d in rack.devices] == ["SIM7P0001", "SIM7P0002", "SIM7P0003"]
    first = rack.device("SIM7P0001")
    assert first.identity.imei == ("352098100123452", "352098100123460")
    assert first.identity.iccid == "89358051000000000111"
    assert first.network.ipv4 == "127.0.2.1"
    assert first.adb_serial == "127.0.1.1:5555"
    assert rack.bench.adb == AdbServerConfig(host="127.0.0.1", port=5137)
    assert rack.bench.timings.boot_completed_s == 1.5
    assert rack.bench.location.lat == pytest.approx(60.1699)
    assert rack.virtual is not None
    assert rack.virtual.resolver == "127.0.53.53"
    cn = [e for e in rack.virtual.endpoints if e.host == "zfhmd.vnet.cn"]
    assert [(e.address, e.country, e.owner) for e in cn] == [("127.0.86.10", "CN", "Chinanet")]
    assert rack.path == REPO / "devices.yaml"


# --- values and defaults ----------------------------------------------------


def test_a_minimal_real_rack_gets_the_models_defaults(workdir: Path) -> None:
    Path("devices.yaml").write_text(RACK, encoding="utf-8")
    rack = load_rack("devices.yaml")

    assert rack.virtual is None
    assert rack.bench.gateway == GatewayConfig()
    assert rack.bench.adb == AdbServerConfig()
    assert rack.bench.timings == Timings()
    assert rack.bench.location.radius_km == 50.0
    phone1, phone2 = rack.devices
    assert phone1.adb_connect is None and phone1.adb_serial == "PHONE1"
    assert phone1.network.ipv6 is None
    assert phone1.identity.serial is None and phone1.identity.wifi_mac is None
    assert phone2.identity.iccid is None and phone2.identity.imsi is None


def test_values_are_normalised(workdir: Path) -> None:
    Path("devices.yaml").write_text(RACK, encoding="utf-8")
    phone1, phone2 = load_rack("devices.yaml").devices

    assert phone1.network.mac == "02:00:00:aa:00:01"
    assert phone2.network.ipv6 == "2001:db8::12"
    assert phone2.network.addresses == ("192.168.50.12", "2001:db8::12")


def test_partial_sections_keep_the_other_defaults(workdir: Path) -> None:
    text = edited(
        RACK,
        "devices:\n",
        "  timings: {settle_s: 7}\n  adb: {port: 5137}\n  gateway:\ndevices:\n",
    )
    Path("devices.yaml").write_text(text, encoding="utf-8")
    bench = load_rack("devices.yaml").bench

    assert bench.timings == Timings(settle_s=7.0)
    assert bench.adb == AdbServerConfig(host="127.0.0.1", port=5137)
    assert bench.gateway == GatewayConfig()  # an empty value means the default


def test_a_virtual_rack_loads(workdir: Path) -> None:
    Path("devices.yaml").write_text(VIRTUAL_RACK, encoding="utf-8")
    rack = load_rack("devices.yaml")

    assert rack.virtual is not None
    assert rack.virtual.endpoints[0].country == "CN"
    assert rack.devices[0].adb_serial == "127.0.1.1:5555"


def test_an_ipv6_adb_connect_goes_in_brackets(workdir: Path) -> None:
    text = edited(RACK, "192.168.50.12:5555", "'[fe80::1]:5555'")
    Path("devices.yaml").write_text(text, encoding="utf-8")

    assert load_rack("devices.yaml").devices[1].adb_connect == "[fe80::1]:5555"


# --- unknown, missing and duplicate keys -----------------------------------


def test_an_unknown_key_names_the_closest_known_one(workdir: Path) -> None:
    text = edited(RACK, "  - serial: PHONE2", "  - serail: PHONE2")
    line = line_of(text, "serail")

    assert rack_error(text) == (
        f"devices.yaml:{line}: devices[1].serail: unknown key serail; did you mean serial?"
    )


def test_an_unknown_key_without_a_close_match_lists_the_known_ones(workdir: Path) -> None:
    text = edited(RACK, "{lat: 60.17, lon: 24.94}", "{lat: 60.17, lon: 24.94, height: 3}")

    assert rack_error(text) == (
        "devices.yaml:3: bench.location.height: unknown key height; known keys: lat, lon, radius_km"
    )


def test_an_unknown_top_level_key(workdir: Path) -> None:
    text = RACK + "device:\n  - serial: X\n"
    line = line_of(text, "device:\n")

    assert rack_error(text).startswith(
        f"devices.yaml:{line}: device: unknown key device; did you mean devices?"
    )


@pytest.mark.parametrize(
    ("old", "new", "key", "mapping_starts_at"),
    [
        ("    model: TA-1046\n    adb_connect", "    adb_connect", "devices[1].model", "PHONE2"),
        ("  location: {lat: 60.17, lon: 24.94}\n", "", "bench.location", "name: test-bench"),
        ("{lat: 60.17, lon: 24.94}", "{lat: 60.17}", "bench.location.lon", "lat: 60.17"),
        (
            '      imei: ["352098100123478"]\n',
            "      imsi: '244051000000002'\n",
            "devices[1].identity.imei",
            "244051000000002",
        ),
    ],
)
def test_a_missing_required_key_is_named_at_its_mapping(
    workdir: Path, old: str, new: str, key: str, mapping_starts_at: str
) -> None:
    text = edited(RACK, old, new)
    line = line_of(text, mapping_starts_at)

    assert rack_error(text) == f"devices.yaml:{line}: {key}: required key is missing"


@pytest.mark.parametrize("zero", ["{lat: 0, lon: 0}", "{lat: 0.0, lon: -0.0, radius_km: 5}"])
def test_the_placeholder_location_is_refused(workdir: Path, zero: str) -> None:
    text = edited(RACK, "{lat: 60.17, lon: 24.94}", zero)

    assert rack_error(text) == (
        f"devices.yaml:{line_of(text, 'location:')}: bench.location: 0, 0 is the placeholder"
        " `bench discover` writes, not a place: put the bench's own latitude and longitude here"
    )


def test_a_place_on_the_equator_or_the_meridian_is_a_place(workdir: Path) -> None:
    text = edited(RACK, "{lat: 60.17, lon: 24.94}", "{lat: 0, lon: 32.58}")

    Path("devices.yaml").write_text(text, encoding="utf-8")
    assert load_rack("devices.yaml").bench.location.lon == 32.58


def test_a_missing_top_level_key(workdir: Path) -> None:
    text = RACK[: RACK.index("devices:")]

    assert rack_error(text) == "devices.yaml:1: devices: required key is missing"


def test_a_duplicate_yaml_key_names_both_lines(workdir: Path) -> None:
    text = edited(
        RACK, "    model: TA-1046\n    adb_connect", "    model: A\n    model: B\n    adb"
    )
    text = text.replace("    adb\n", "    adb_connect")

    assert rack_error(text) == (
        f"devices.yaml:{line_of(text, 'model: B')}: devices[1].model: "
        f"duplicate key model (first at line {line_of(text, 'model: A')})"
    )


def test_yaml_merge_keys_are_refused(workdir: Path) -> None:
    text = edited(RACK, "  name: test-bench\n", "  name: test-bench\n  <<: {x: 1}\n")

    assert rack_error(text) == (
        "devices.yaml:3: bench: YAML merge keys (<<) are not supported: write the keys out"
    )


# --- types ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("lat: 60.17", "lat: north", "bench.location.lat", "expected a number, got a string north"),
        ("lat: 60.17", "lat: true", "bench.location.lat", "expected a number, got a boolean true"),
        ("lat: 60.17", "lat: .nan", "bench.location.lat", ".nan is not a finite number"),
        (
            'imei: ["352098100123478"]',
            'imei: "352098100123478"',
            "devices[1].identity.imei",
            "expected a list, got a string 352098100123478",
        ),
        (
            'imei: ["352098100123478"]',
            "imei: [352098100123478]",
            "devices[1].identity.imei[0]",
            'expected a string, got an integer 352098100123478: quote it ("352098100123478")',
        ),
        ("name: test-bench", "name: [a, b]", "bench.name", "expected a string, got a list"),
        ("name: test-bench", "name:", "bench.name", "expected a string, got an empty value (null)"),
        ("model: TA-1046\n    adb", "model: 2019-01-01\n    adb", "devices[1].model", None),
    ],
)
def test_a_wrong_type_is_named(
    workdir: Path, old: str, new: str, key: str, message: str | None
) -> None:
    text = edited(RACK, old, new)
    line = line_of(text, new.split("\n")[0])
    expected = message or 'expected a string, got a date 2019-01-01: quote it ("2019-01-01")'

    assert rack_error(text) == f"devices.yaml:{line}: {key}: {expected}"


def test_devices_must_be_a_list(workdir: Path) -> None:
    text = RACK[: RACK.index("devices:")] + "devices: {serial: PHONE1}\n"

    assert rack_error(text) == "devices.yaml:4: devices: expected a list, got a mapping"


def test_a_port_must_be_an_integer_not_a_float_or_boolean(workdir: Path) -> None:
    for value, got in (("5037.0", "a number 5037.0"), ("yes", "a boolean yes")):
        text = edited(RACK, "devices:\n", f"  adb: {{port: {value}}}\ndevices:\n")
        assert rack_error(text) == (
            f"devices.yaml:4: bench.adb.port: expected an integer, got {got}"
        )


def test_norway_needs_quotes(workdir: Path) -> None:
    text = edited(VIRTUAL_RACK, "country: CN", "country: NO")

    assert rack_error(text) == (
        "devices.yaml:7: virtual.endpoints[0].country: "
        'expected a string, got a boolean NO: quote it ("NO")'
    )


def test_keys_must_be_strings(workdir: Path) -> None:
    text = edited(RACK, "    model: TA-1046\n    adb", "    model: TA-1046\n    1: x\n    adb")

    assert rack_error(text) == (
        f"devices.yaml:{line_of(text, '1: x')}: devices[1]: keys must be strings, got an integer 1"
    )


# --- identifiers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            '"352098100123478"',
            '"352098100123479"',
            "devices[1].identity.imei[0]",
            "IMEI 352098100123479 fails its Luhn check",
        ),
        (
            '"352098100123478"',
            '"35209810012347"',
            "devices[1].identity.imei[0]",
            "IMEI 35209810012347 must be 15 digits",
        ),
        (
            '"352098100123460"',
            '"35209810012346A"',
            "devices[0].identity.imei[1]",
            "IMEI 35209810012346A must be 15 digits",
        ),
        (
            '"89358051000000000111"',
            '"893580510000000001"',
            "devices[0].identity.iccid",
            "ICCID 893580510000000001 must be 19 or 20 digits",
        ),
        (
            '"89358051000000000111"',
            '"79358051000000000111"',
            "devices[0].identity.iccid",
            "ICCID 79358051000000000111 must start with 89 (the telecom industry prefix)",
        ),
        (
            '"89358051000000000111"',
            '"89358051000000000112"',
            "devices[0].identity.iccid",
            "ICCID 89358051000000000112 fails its Luhn check (required for 20 digits)",
        ),
        (
            '"244051000000001"',
            '"2440510000001"',
            "devices[0].identity.imsi",
            "IMSI 2440510000001 must be 14 or 15 digits",
        ),
        (
            '"244051000000001"',
            '"144051000000001"',
            "devices[0].identity.imsi",
            "IMSI 144051000000001 starts with 144, which is no mobile country code "
            "(2xx-7xx, 001, 901, 902 or 999)",
        ),
        (
            '"02-00-00-AA-00-01"',
            '"02-00-00:AA-00-01"',
            "devices[0].network.mac",
            "MAC address 02-00-00:AA-00-01 must be six hex pairs separated by ':' or '-'",
        ),
        (
            '"02-00-00-AA-00-01"',
            '"02:00:00:AA:00"',
            "devices[0].network.mac",
            "MAC address 02:00:00:AA:00 must be six hex pairs separated by ':' or '-'",
        ),
    ],
)
def test_a_malformed_identifier_is_named(
    workdir: Path, old: str, new: str, key: str, message: str
) -> None:
    text = edited(RACK, old, new)

    assert rack_error(text) == f"devices.yaml:{line_of(text, new)}: {key}: {message}"


def test_a_19_digit_iccid_needs_no_luhn_digit(workdir: Path) -> None:
    text = edited(RACK, '"89358051000000000111"', '"8935805100000000011"')
    Path("devices.yaml").write_text(text, encoding="utf-8")

    assert load_rack("devices.yaml").devices[0].identity.iccid == "8935805100000000011"


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            "ipv4: 192.168.50.11",
            "ipv4: 192.168.50.256",
            "devices[0].network.ipv4",
            "192.168.50.256 is not an IPv4 address",
        ),
        (
            "ipv4: 192.168.50.11",
            "ipv4: '::1'",
            "devices[0].network.ipv4",
            "::1 is an IPv6 address, expected IPv4",
        ),
        (
            'ipv6: "2001:DB8::12"',
            "ipv6: 10.0.0.1",
            "devices[1].network.ipv6",
            "10.0.0.1 is an IPv4 address, expected IPv6",
        ),
        (
            'ipv6: "2001:DB8::12"',
            "ipv6: '2001:db8::g'",
            "devices[1].network.ipv6",
            "2001:db8::g is not an IPv6 address",
        ),
    ],
)
def test_an_address_of_the_wrong_family_or_malformed(
    workdir: Path, old: str, new: str, key: str, message: str
) -> None:
    text = edited(RACK, old, new)

    assert rack_error(text) == f"devices.yaml:{line_of(text, new)}: {key}: {message}"


# --- uniqueness across the rack ---------------------------------------------


def test_a_duplicate_serial_names_both_lines(workdir: Path) -> None:
    text = edited(RACK, "serial: PHONE2", "serial: PHONE1")
    first, second = (i + 1 for i, ln in enumerate(text.splitlines()) if "serial: PHONE1" in ln)

    assert rack_error(text) == (
        f"devices.yaml:{second}: devices[1].serial: duplicate serial PHONE1, "
        f"first at line {first} (devices[0].serial)"
    )


def test_a_duplicate_imei_across_devices(workdir: Path) -> None:
    text = edited(RACK, '["352098100123478"]', '["352098100123460"]')

    assert rack_error(text) == (
        "devices.yaml:17: devices[1].identity.imei[0]: duplicate IMEI 352098100123460, "
        "first at line 9 (devices[0].identity.imei[1])"
    )


def test_a_duplicate_imei_within_one_phone(workdir: Path) -> None:
    text = edited(RACK, '["352098100123478"]', '["352098100123478", "352098100123478"]')

    assert rack_error(text) == (
        "devices.yaml:17: devices[1].identity.imei[1]: duplicate IMEI 352098100123478, "
        "first at line 17 (devices[1].identity.imei[0])"
    )


def test_a_duplicate_ipv4(workdir: Path) -> None:
    text = edited(RACK, "{ipv4: 192.168.50.12,", "{ipv4: 192.168.50.11,")

    assert rack_error(text) == (
        "devices.yaml:15: devices[1].network.ipv4: duplicate IPv4 address 192.168.50.11, "
        "first at line 7 (devices[0].network.ipv4)"
    )


def test_a_duplicate_mac_is_caught_after_normalising(workdir: Path) -> None:
    text = edited(RACK, 'ipv6: "2001:DB8::12"', 'mac: "02:00:00:aa:00:01"')

    assert rack_error(text) == (
        "devices.yaml:15: devices[1].network.mac: duplicate MAC address 02:00:00:aa:00:01, "
        "first at line 7 (devices[0].network.mac)"
    )


def test_a_rack_needs_a_device(workdir: Path) -> None:
    text = RACK[: RACK.index("devices:")] + "devices: []\n"

    assert rack_error(text) == "devices.yaml:4: devices: a rack needs at least one device"


def test_a_phone_needs_an_imei(workdir: Path) -> None:
    text = edited(RACK, '["352098100123478"]', "[]")

    assert rack_error(text) == (
        "devices.yaml:17: devices[1].identity.imei: a phone has at least one IMEI"
    )


# --- ranges -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("lat: 60.17", "lat: 90.5", "bench.location.lat", "90.5 is outside [-90, 90]"),
        ("lon: 24.94", "lon: -180.01", "bench.location.lon", "-180.01 is outside [-180, 180]"),
        (
            "lon: 24.94}",
            "lon: 24.94, radius_km: 0}",
            "bench.location.radius_km",
            "0 must be a number greater than 0",
        ),
    ],
)
def test_location_ranges(workdir: Path, old: str, new: str, key: str, message: str) -> None:
    assert rack_error(edited(RACK, old, new)) == f"devices.yaml:3: {key}: {message}"


@pytest.mark.parametrize(
    ("section", "key", "message"),
    [
        ("timings: {boot_timeout_s: 0}", "bench.timings.boot_timeout_s", "0 must be a number"),
        ("timings: {settle_s: -1.5}", "bench.timings.settle_s", "-1.5 must be a number"),
        ("timings: {settle_s: '2'}", "bench.timings.settle_s", "expected a number, got a string"),
        ("adb: {port: 0}", "bench.adb.port", "port 0 is outside 1-65535"),
        ("adb: {port: 65536}", "bench.adb.port", "port 65536 is outside 1-65535"),
        ("adb: {host: bad_host}", "bench.adb.host", "bad_host is not a host name"),
        ("gateway: {interface: 'eth 0'}", "bench.gateway.interface", "eth 0 is not a network"),
    ],
)
def test_bench_settings_are_checked(workdir: Path, section: str, key: str, message: str) -> None:
    text = edited(RACK, "devices:\n", f"  {section}\ndevices:\n")

    assert rack_error(text).startswith(f"devices.yaml:4: {key}: {message}")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("192.168.50.12", "192.168.50.12 must be host:port"),
        ("192.168.50.12:adb", "192.168.50.12:adb must end in :PORT, a number 1-65535"),
        ("192.168.50.12:0", "port 0 is outside 1-65535"),
        ("'fe80::1:5555'", "fe80::1:5555: an IPv6 host goes in brackets, as in [::1]:5555"),
    ],
)
def test_adb_connect_must_be_host_port(workdir: Path, value: str, message: str) -> None:
    text = edited(RACK, "adb_connect: 192.168.50.12:5555", f"adb_connect: {value}")

    assert rack_error(text) == f"devices.yaml:14: devices[1].adb_connect: {message}"


# --- the virtual rack stays on loopback -------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "address"),
    [
        ("address: 127.0.86.10", "address: 8.8.8.8", "virtual.endpoints[0].address", "8.8.8.8"),
        ("resolver: 127.0.53.53", "resolver: 10.0.0.53", "virtual.resolver", "10.0.0.53"),
        ("{ipv4: 127.0.2.1}", "{ipv4: 192.168.2.1}", "devices[0].network.ipv4", "192.168.2.1"),
        (
            "adb_connect: 127.0.1.1:5555",
            "adb_connect: 192.168.1.1:5555",
            "devices[0].adb_connect",
            "192.168.1.1",
        ),
    ],
)
def test_a_virtual_rack_refuses_addresses_outside_loopback(
    workdir: Path, old: str, new: str, key: str, address: str
) -> None:
    text = edited(VIRTUAL_RACK, old, new)

    assert rack_error(text) == (
        f"devices.yaml:{line_of(text, new)}: {key}: {address} is outside 127.0.0.0/8: "
        "the virtual rack must never send anywhere but loopback"
    )


def test_a_real_rack_may_use_any_address(workdir: Path) -> None:
    Path("devices.yaml").write_text(RACK, encoding="utf-8")

    assert load_rack("devices.yaml").devices[0].network.ipv4 == "192.168.50.11"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("host: zfhmd.vnet.cn", "host: zfhmd_vnet.cn", "zfhmd_vnet.cn is not a host name"),
        ("host: zfhmd.vnet.cn", "host: 'zfhmd..cn'", "zfhmd..cn is not a host name"),
        ("country: CN", "country: XX", "XX is not an ISO 3166-1 alpha-2 country code"),
        ("country: CN", "country: EEA", "EEA is not an ISO 3166-1 alpha-2 country code"),
    ],
)
def test_virtual_endpoints_are_checked(workdir: Path, old: str, new: str, message: str) -> None:
    text = edited(VIRTUAL_RACK, old, new)
    key = "virtual.endpoints[0]." + new.split(":")[0]

    assert rack_error(text).startswith(f"devices.yaml:7: {key}: {message}")


def test_a_duplicate_endpoint_host(workdir: Path) -> None:
    endpoint = "    - {host: zfhmd.vnet.cn, address: 127.0.86.10, country: CN, owner: Chinanet}\n"
    text = edited(VIRTUAL_RACK, endpoint, endpoint + endpoint.replace("86", "87"))

    assert rack_error(text) == (
        "devices.yaml:8: virtual.endpoints[1].host: duplicate endpoint host zfhmd.vnet.cn, "
        "first at line 7 (virtual.endpoints[0].host)"
    )


# --- files that are not a rack at all ----------------------------------------


def test_a_missing_file(workdir: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_rack("racks/nope.yaml")

    assert str(info.value) == "racks/nope.yaml: file not found"


def test_a_directory_is_not_readable(workdir: Path) -> None:
    Path("racks").mkdir()
    with pytest.raises(InventoryError) as info:
        load_rack("racks")

    assert str(info.value) == "racks: cannot read: Is a directory"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file(workdir: Path, text: str) -> None:
    assert rack_error(text) == "devices.yaml: file is empty"


def test_a_yaml_syntax_error_names_its_line(workdir: Path) -> None:
    text = edited(RACK, "model: TA-1046\n    adb", "model: [TA-1046\n    adb")

    line = line_of(text, "adb_connect")  # PyYAML notices the problem at this line's ':'

    assert rack_error(text) == (
        f"devices.yaml:{line}: not valid YAML: while parsing a flow sequence, "
        "expected ',' or ']', but got ':'"
    )


def test_two_documents_are_not_one_rack(workdir: Path) -> None:
    assert rack_error(RACK + "---\n" + RACK) == (
        "devices.yaml:18: not valid YAML: expected a single document in the stream, "
        "but found another document"
    )


@pytest.mark.parametrize(
    ("text", "got"),
    [("- a\n- b\n", "a list"), ("just text\n", "a string just text"), ("42\n", "an integer 42")],
)
def test_the_top_level_must_be_a_mapping(workdir: Path, text: str, got: str) -> None:
    assert rack_error(text) == f"devices.yaml:1: the top level must be a mapping of keys, got {got}"


def test_a_file_that_is_not_utf8(workdir: Path) -> None:
    Path("devices.yaml").write_bytes(b"bench:\n  name: caf\xe9\n")
    with pytest.raises(InventoryError) as info:
        load_rack("devices.yaml")

    assert str(info.value) == "devices.yaml:2: not UTF-8 text"


def test_a_control_character(workdir: Path) -> None:
    assert rack_error("bench:\n  name: a\x07b\n") == (
        "devices.yaml:2: not valid YAML: character #x0007: special characters are not allowed"
    )


def test_deep_nesting_is_an_error_not_a_crash(workdir: Path) -> None:
    assert rack_error("- " * 5000 + "x\n") == "devices.yaml: not valid YAML: nested too deeply"


def test_an_alias_that_contains_itself_is_just_a_wrong_value(workdir: Path) -> None:
    text = edited(
        RACK, "  location: {lat: 60.17, lon: 24.94}", "  location: &loop {lat: *loop, lon: 1}"
    )

    assert rack_error(text) == (
        "devices.yaml:3: bench.location.lat: expected a number, got a mapping"
    )


def test_a_byte_order_mark_is_fine(workdir: Path) -> None:
    Path("devices.yaml").write_bytes(b"\xef\xbb\xbf" + RACK.encode())

    assert len(load_rack("devices.yaml").devices) == 2


def test_the_error_is_one_line_whatever_the_key(workdir: Path) -> None:
    text = edited(RACK, "  name: test-bench\n", '  name: test-bench\n  "two\\nlines": 1\n')

    assert rack_error(text) == (
        "devices.yaml:3: bench.two\\nlines: unknown key two\\nlines; "
        "known keys: name, location, gateway, adb, timings, relays"
    )


def test_the_file_is_named_as_the_caller_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "racks" / "bench7.yaml"
    path.parent.mkdir()
    path.write_text(edited(RACK, "lat: 60.17", "lat: 91"), encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        load_rack(path)

    assert str(info.value) == f"{path}:3: bench.location.lat: 91 is outside [-90, 90]"
    assert (info.value.file, info.value.line, info.value.key) == (
        str(path),
        3,
        "bench.location.lat",
    )


def test_the_error_survives_pickling(workdir: Path) -> None:
    error = InventoryError("devices.yaml", "file is empty", line=None, key="")
    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == "devices.yaml: file is empty"
    assert isinstance(copy, InventoryError)
