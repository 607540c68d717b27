"""Whatever the file holds, the loaders return a model or raise InventoryError.

Any other exception would reach the CLI or the pytest plugin as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benches.inventory import InventoryError, load_manifest, load_rack
from benches.inventory.models import Manifest, Rack
from tests.support.paths import REPO

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
Loader = Callable[[str], Rack | Manifest]

KEYS = [
    *("bench", "name", "location", "lat", "lon", "radius_km", "gateway", "interface"),
    *("adb", "host", "port", "timings", "boot_timeout_s", "settle_s", "devices", "serial"),
    *("model", "network", "ipv4", "ipv6", "mac", "identity", "imei", "iccid", "imsi"),
    *("wifi_mac", "adb_connect", "virtual", "resolver", "endpoints", "address", "country"),
    *("owner", "build", "fingerprint", "region", "policy", "allowed_countries", "image"),
    *("allowed_hosts", "identifier_recipients", "path", "sha256", "behaviours", "<<", "x"),
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=25),
    st.sampled_from(
        ["352098100123452", "127.0.2.1", "EEA", "NO", "::1", "127.0.1.1:5555", "a" * 64]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=25,
)


def outcome(load: Loader, path: Path) -> Rack | Manifest | None:
    """The model, or None after checking the error is one line naming the file."""
    try:
        return load(str(path))
    except InventoryError as error:
        message = str(error)
        assert message.startswith(f"{path}:") or message.startswith(f"{path}: ")
        assert len(message.splitlines()) == 1
        return None


def mutated(document: Any, data: st.DataObject) -> Any:
    """The document with one randomly chosen value anywhere in it replaced."""
    if not isinstance(document, dict | list) or data.draw(st.integers(0, 3)) == 0:
        return data.draw(VALUES)
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    if not keys:
        return data.draw(VALUES)
    key = data.draw(st.sampled_from(keys))
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = mutated(document[key], data)
    return copy


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "input.yaml"


@pytest.mark.parametrize("load", [load_rack, load_manifest])
@FUZZ
@given(text=st.text(max_size=300))
def test_arbitrary_text(scratch: Path, load: Loader, text: str) -> None:
    scratch.write_text(text, encoding="utf-8")
    outcome(load, scratch)


@FUZZ
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes(scratch: Path, data: bytes) -> None:
    scratch.write_bytes(data)
    outcome(load_rack, scratch)


@pytest.mark.parametrize("load", [load_rack, load_manifest])
@FUZZ
@given(document=VALUES)
def test_arbitrary_yaml_structures(scratch: Path, load: Loader, document: Any) -> None:
    scratch.write_text(yaml.safe_dump(document), encoding="utf-8")
    outcome(load, scratch)


@pytest.mark.parametrize(
    ("load", "source"),
    [(load_rack, "devices.yaml"), (load_manifest, "firmware/ta1046-global-FIXED.yaml")],
)
@FUZZ
@given(data=st.data())
def test_mutations_of_the_shipped_files(
    scratch: Path, load: Loader, source: str, data: st.DataObject
) -> None:
    document = yaml.safe_load((REPO / source).read_text(encoding="utf-8"))
    scratch.write_text(yaml.safe_dump(mutated(document, data)), encoding="utf-8")
    outcome(load, scratch)


def test_the_unmutated_shipped_files_still_load(scratch: Path) -> None:
    document = yaml.safe_load((REPO / "devices.yaml").read_text(encoding="utf-8"))
    scratch.write_text(yaml.safe_dump(document), encoding="utf-8")

    assert isinstance(outcome(load_rack, scratch), Rack)
