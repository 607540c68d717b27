"""Firmware manifests → Manifest: the shipped ones, policy expansion, and errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from benches.inventory import InventoryError, load_manifest
from benches.inventory.regions import EEA, EU
from tests.support.paths import REPO

FIXED = REPO / "firmware" / "ta1046-global-FIXED.yaml"
LEAKY = REPO / "firmware" / "ta1046-global-LEAKY-with-cn-activation.yaml"

MANIFEST = """\
build: 00WW_3_22D
fingerprint: Nokia/Onyx_00WW/B2N_sprout:10/QKQ1.190828.002/00WW_3_22D:user/release-keys
region: global
policy:
  allowed_countries: [EEA, US]
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("firmware").mkdir()
    return tmp_path


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def written(text: str) -> str:
    Path("firmware/rc.yaml").write_text(text, encoding="utf-8")
    return "firmware/rc.yaml"


def manifest_error(text: str) -> str:
    with pytest.raises(InventoryError) as info:
        load_manifest(written(text))
    message = str(info.value)
    assert len(message.splitlines()) == 1
    return message


# --- the shipped manifests --------------------------------------------------


def test_the_fixed_manifest_loads() -> None:
    manifest = load_manifest(FIXED)

    assert manifest.build == "00WW_3_22D"
    assert manifest.region == "global"
    assert manifest.fingerprint.endswith("00WW_3_22D:user/release-keys")
    assert {"FI", "SE", "DE", "NO", "IS", "LI", "US"} <= manifest.policy.allowed_countries
    assert "CN" not in manifest.policy.allowed_countries
    assert "EEA" not in manifest.policy.allowed_countries
    assert len(manifest.policy.allowed_countries) == 31  # 30 EEA states and the US
    assert manifest.policy.allowed_hosts == ("vendor.example",)
    assert manifest.policy.identifier_recipients == ("fota.vendor.example",)
    assert manifest.image is not None
    # The committed image is the one the manifest hashes (relative to the manifest's folder).
    image = FIXED.parent / manifest.image.path
    assert manifest.image.sha256 == hashlib.sha256(image.read_bytes()).hexdigest()
    assert manifest.virtual_behaviours == ("connectivity_check", "vendor_update_tls")
    assert manifest.path == FIXED


def test_the_leaky_manifest_runs_the_cn_activation_client() -> None:
    manifest = load_manifest(LEAKY)

    assert manifest.build == "00WW_3_22C"
    assert "cn_activation_client" in manifest.virtual_behaviours
    assert manifest.policy.allowed_countries == load_manifest(FIXED).policy.allowed_countries


# --- values and defaults ----------------------------------------------------


def test_a_minimal_manifest_gets_the_defaults(workdir: Path) -> None:
    manifest = load_manifest(written(MANIFEST))

    assert manifest.image is None
    assert manifest.virtual_behaviours == ()
    assert manifest.policy.allowed_hosts == ()
    assert manifest.policy.identifier_recipients == ()
    assert manifest.policy.allowed_countries == EEA | {"US"}


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ("[EU]", EU),
        ("[eea]", EEA),
        ("[fi, 'SE']", frozenset({"FI", "SE"})),
        ("[EEA, FI]", EEA),
        ("['NO', XK]", frozenset({"NO", "XK"})),
        ("[]", frozenset()),
    ],
)
def test_countries_and_groups_are_expanded(
    workdir: Path, entries: str, expected: frozenset[str]
) -> None:
    text = edited(MANIFEST, "[EEA, US]", entries)

    assert load_manifest(written(text)).policy.allowed_countries == expected


def test_the_eu_is_not_the_eea() -> None:
    assert len(EU) == 27 and len(EEA) == 30
    assert sorted(EEA - EU) == ["IS", "LI", "NO"]
    assert "GR" in EU and "EL" not in EU and "GB" not in EEA


def test_host_suffixes_are_lower_cased_and_deduplicated(workdir: Path) -> None:
    text = MANIFEST + (
        "  allowed_hosts: [Vendor.Example, vendor.example., cdn.example]\n"
        "  identifier_recipients: [FOTA.vendor.example]\n"
    )
    policy = load_manifest(written(text)).policy

    assert policy.allowed_hosts == ("vendor.example", "cdn.example")
    assert policy.identifier_recipients == ("fota.vendor.example",)


def test_a_top_level_domain_is_a_suffix_too(workdir: Path) -> None:
    text = MANIFEST + "  allowed_hosts: [example]\n"

    assert load_manifest(written(text)).policy.allowed_hosts == ("example",)


def test_an_image_hash_is_lower_cased(workdir: Path) -> None:
    text = MANIFEST + "image: {path: images/a.zip, sha256: " + "AB" * 32 + "}\n"
    image = load_manifest(written(text)).image

    assert image is not None and image.sha256 == "ab" * 32 and image.path == "images/a.zip"


def test_empty_virtual_section_means_no_behaviours(workdir: Path) -> None:
    assert load_manifest(written(MANIFEST + "virtual: {}\n")).virtual_behaviours == ()


# --- errors -----------------------------------------------------------------


def test_a_missing_manifest(workdir: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_manifest("firmware/nope.yaml")

    assert str(info.value) == "firmware/nope.yaml: file not found"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("[EEA, UK]", "policy.allowed_countries[1]: UK is neither an ISO 3166-1 alpha-2"),
        ("[EEA, XX]", "policy.allowed_countries[1]: XX is neither an ISO 3166-1 alpha-2"),
        ("[Europe]", "policy.allowed_countries[0]: Europe is neither an ISO 3166-1 alpha-2"),
        ("[EEA, NO]", "policy.allowed_countries[1]: expected a string, got a boolean NO: quote"),
        ("EEA", "policy.allowed_countries: expected a list, got a string EEA"),
    ],
)
def test_a_bad_country_entry(workdir: Path, entries: str, message: str) -> None:
    text = edited(MANIFEST, "[EEA, US]", entries)

    assert manifest_error(text).startswith(f"firmware/rc.yaml:5: {message}")


def test_a_bad_country_names_the_groups(workdir: Path) -> None:
    text = edited(MANIFEST, "[EEA, US]", "[EEA, UK]")

    assert manifest_error(text).endswith("nor a group (EEA, EU)")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("allowed_hosts", "[bad_host.example]", "allowed_hosts[0]: bad_host.example is not a host"),
        ("allowed_hosts", "['*.vendor.example']", "allowed_hosts[0]: *.vendor.example is not a"),
        ("allowed_hosts", "['.vendor.example']", "allowed_hosts[0]: .vendor.example is not a"),
        ("allowed_hosts", "['1.2.3.4']", "allowed_hosts[0]: 1.2.3.4 is not a host name"),
        ("allowed_hosts", "vendor.example", "allowed_hosts: expected a list, got a string"),
        ("identifier_recipients", "[{x: 1}]", "identifier_recipients[0]: expected a string, got a"),
        ("opaque_hosts", "['*.pinned.example']", "opaque_hosts[0]: *.pinned.example is not a"),
        ("opaque_hosts", "pinned.example", "opaque_hosts: expected a list, got a string"),
    ],
)
def test_host_suffixes_are_checked(workdir: Path, key: str, value: str, message: str) -> None:
    text = MANIFEST + f"  {key}: {value}\n"

    assert manifest_error(text).startswith(f"firmware/rc.yaml:6: policy.{message}")


@pytest.mark.parametrize(
    ("sha256", "message"),
    [
        ("ab" * 31, "must be 64 hex digits"),
        ("g" * 64, "must be 64 hex digits"),
        ("'" + "0" * 65 + "'", "must be 64 hex digits"),
    ],
)
def test_an_image_hash_is_64_hex_digits(workdir: Path, sha256: str, message: str) -> None:
    text = MANIFEST + f"image:\n  path: images/a.zip\n  sha256: {sha256}\n"

    assert manifest_error(text) == (
        f"firmware/rc.yaml:8: image.sha256: sha256 {sha256.strip(chr(39))} {message}"
    )


def test_an_image_needs_its_hash(workdir: Path) -> None:
    text = MANIFEST + "image:\n  path: images/a.zip\n"

    assert manifest_error(text) == "firmware/rc.yaml:7: image.sha256: required key is missing"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "virtual: {behaviors: [a]}\n",
            "6: virtual.behaviors: unknown key behaviors; did you mean behaviours?",
        ),
        (
            "virtual: {behaviours: connectivity_check}\n",
            "6: virtual.behaviours: expected a list, got a string connectivity_check",
        ),
        (
            "virtual: {behaviours: [a b]}\n",
            "6: virtual.behaviours[0]: 'a b' must be one word: not empty, no spaces",
        ),
        ("virtual: [a]\n", "6: virtual: expected a mapping, got a list"),
        ("buid: x\n", "6: buid: unknown key buid; did you mean build?"),
        ("build: again\n", "6: build: duplicate key build (first at line 1)"),
    ],
)
def test_manifest_keys_are_checked(workdir: Path, extra: str, message: str) -> None:
    assert manifest_error(MANIFEST + extra) == f"firmware/rc.yaml:{message}"


@pytest.mark.parametrize("key", ["build", "fingerprint", "region"])
def test_a_missing_top_level_key(workdir: Path, key: str) -> None:
    text = "\n".join(line for line in MANIFEST.splitlines() if not line.startswith(key))

    assert manifest_error(text) == f"firmware/rc.yaml:1: {key}: required key is missing"


def test_a_policy_needs_its_countries(workdir: Path) -> None:
    text = edited(MANIFEST, "  allowed_countries: [EEA, US]", "  allowed_hosts: [vendor.example]")

    assert manifest_error(text) == (
        "firmware/rc.yaml:5: policy.allowed_countries: required key is missing"
    )


def test_a_build_id_is_one_word(workdir: Path) -> None:
    text = edited(MANIFEST, "build: 00WW_3_22D", "build: '00WW 3'")

    assert manifest_error(text) == (
        "firmware/rc.yaml:1: build: '00WW 3' must be one word: not empty, no spaces"
    )


def test_a_build_id_that_yaml_reads_as_a_number(workdir: Path) -> None:
    text = edited(MANIFEST, "build: 00WW_3_22D", "build: 3.22")

    assert manifest_error(text) == (
        'firmware/rc.yaml:1: build: expected a string, got a number 3.22: quote it ("3.22")'
    )


def test_a_rack_file_is_not_a_manifest(workdir: Path) -> None:
    message = manifest_error((REPO / "devices.yaml").read_text(encoding="utf-8"))

    assert message.startswith("firmware/rc.yaml:4: bench: unknown key bench; known keys: build")


@pytest.mark.parametrize("build", ["../../../x", "a/b", "..", ".hidden", "-rf", "00WW\\3"])
def test_a_build_id_names_folders_so_it_must_be_a_plain_name(workdir: Path, build: str) -> None:
    """`build: ../../../x` moved the verdict log, the pcaps and the summary out of reports/."""
    text = edited(MANIFEST, "build: 00WW_3_22D", f"build: '{build}'")

    assert manifest_error(text) == (
        f"firmware/rc.yaml:1: build: {build} must be a plain name: "
        "up to 128 letters, digits, '.', '_', '-' or '+', starting with a letter or digit "
        "(it names folders under reports/)"
    )


def test_opaque_hosts_are_read_as_host_suffixes(workdir: Path) -> None:
    manifest = load_manifest(
        written(MANIFEST + "  opaque_hosts: [Pinned.Example, pinned.example]\n")
    )

    assert manifest.policy.opaque_hosts == ("pinned.example",)


# --- interception (issue 15) --------------------------------------------------


def test_interception_is_off_unless_the_manifest_says(workdir: Path) -> None:
    assert load_manifest(written(MANIFEST)).interception == "off"
    assert not load_manifest(written(MANIFEST)).intercepts
    for setting in ("required", "optional", "off", '"off"', "false"):
        manifest = load_manifest(written(MANIFEST + f"interception: {setting}\n"))
        assert manifest.interception == setting.strip('"').replace("false", "off")


def test_the_tls_analytics_manifest_requires_interception() -> None:
    manifest = load_manifest(REPO / "firmware" / "ta1046-global-TLS-analytics.yaml")
    assert manifest.interception == "required"
    assert "partner_analytics" in manifest.virtual_behaviours
    assert manifest.policy.identifier_recipients == ("fota.vendor.example",)


def test_a_bad_interception_setting_is_one_line(workdir: Path) -> None:
    message = manifest_error(MANIFEST + "interception: yes-please\n")
    assert message == (
        "firmware/rc.yaml:6: interception: interception must be one of required, optional, off"
    )
