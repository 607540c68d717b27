"""The pytest plugin: options, fixtures and the sign-off suite's session.

Registered through the `pytest11` entry point (name `benches.plugin`), so any
repository with the package installed can write sign-off tests; the root
conftest.py names the same module, which pytest then recognises as loaded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from benches.adbserver import AdbNotFoundError, AdbServerError
from benches.gateway.capture import Capture, CaptureStartError
from benches.gateway.gateway import Gateway
from benches.gateway.geo import GeoDatabase
from benches.inventory import InventoryError, load_manifest, load_rack
from benches.inventory.models import Manifest, Rack
from benches.phone import Phone
from benches.session import BenchSession
from benches.signoff import Signoff
from benches.sim.firmware import Firmware, UnknownBehaviour
from benches.sim.rack import VirtualRackError

SIGNOFF_FIXTURES = {"phone", "rack", "gateway", "firmware", "bench_session", "signoff"}
_RACK_KEY = pytest.StashKey[Rack]()
_MANIFEST_KEY = pytest.StashKey[Manifest]()
BENCH_START_ERRORS = (AdbNotFoundError, AdbServerError, VirtualRackError)
T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "phone firmware privacy bench")
    group.addoption(
        "--devices",
        default="devices.yaml",
        help="the rack description (default: devices.yaml)",
    )
    group.addoption("--firmware", default=None, help="the release candidate's manifest")
    group.addoption(
        "--cycles", type=int, default=1, help="cycles of each kind per phone (default: 1)"
    )
    group.addoption(
        "--reports",
        default="reports",
        help="where pcaps and allure-results go (default: reports)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cycle(kind): a sign-off cycle of this kind")
    if not config.getoption("firmware"):
        return
    # A sign-off run: a bad rack or manifest stops it here, as one line, before collection.
    manifest_of(config)
    # allure-pytest reads this in its own pytest_configure, which runs after ours.
    if not config.getoption("allure_report_dir", None):
        config.option.allure_report_dir = str(Path(config.getoption("reports")) / "allure-results")


def rack_of(config: pytest.Config) -> Rack:
    """devices.yaml, loaded once per session; a bad file stops the run with one line."""
    if _RACK_KEY not in config.stash:
        config.stash[_RACK_KEY] = _load(load_rack, config.getoption("devices"))
    return config.stash[_RACK_KEY]


def manifest_of(config: pytest.Config) -> Manifest:
    """The --firmware manifest, loaded once per session, checked against the rack."""
    if _MANIFEST_KEY not in config.stash:
        manifest = _load(load_manifest, config.getoption("firmware"))
        if rack_of(config).virtual:
            try:
                Firmware(manifest.virtual_behaviours)
            except UnknownBehaviour as error:
                raise pytest.UsageError(f"{manifest.path}: virtual.behaviours: {error}") from None
        config.stash[_MANIFEST_KEY] = manifest
    return config.stash[_MANIFEST_KEY]


def _load(loader: Callable[[Path], T], path: str) -> T:
    try:
        return loader(Path(path))
    except InventoryError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "phone" in metafunc.fixturenames:
        serials = [device.serial for device in rack_of(metafunc.config).devices]
        metafunc.parametrize("phone", serials, ids=serials, indirect=True, scope="function")
    if "cycle" in metafunc.fixturenames:
        count = metafunc.config.getoption("cycles")
        if count < 1:
            raise pytest.UsageError(f"--cycles must be at least 1, not {count}")
        cycles = list(range(1, count + 1))
        metafunc.parametrize("cycle", cycles, ids=[f"cycle{n}" for n in cycles])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Check what a sign-off needs before the first phone is touched."""
    wanted = any(
        SIGNOFF_FIXTURES & set(getattr(item, "fixturenames", ())) for item in session.items
    )
    if not wanted or session.config.getoption("collectonly"):
        return
    config = session.config
    if not config.getoption("firmware"):
        raise pytest.UsageError(
            "the sign-off suite needs --firmware: the release candidate's manifest, "
            "e.g. --firmware firmware/ta1046-global-FIXED.yaml"
        )
    rack = rack_of(config)
    _check_capture_permission(rack)


def _check_capture_permission(rack: Rack) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        probe = Capture(rack.bench.gateway.interface, ["127.0.0.1"], Path(scratch) / "probe.pcap")
        try:
            probe.start()
            probe.stop(grace=0)
        except CaptureStartError as error:
            raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session")
def rack_config(pytestconfig: pytest.Config) -> Rack:
    return rack_of(pytestconfig)


@pytest.fixture(scope="session")
def firmware(pytestconfig: pytest.Config) -> Manifest:
    return manifest_of(pytestconfig)


@pytest.fixture(scope="session")
def reports_dir(pytestconfig: pytest.Config) -> Path:
    path = Path(pytestconfig.getoption("reports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def bench_session(
    rack_config: Rack, firmware: Manifest, reports_dir: Path
) -> Iterator[BenchSession]:
    """The adb server, and the virtual rack when devices.yaml describes one."""
    session = BenchSession(rack_config, firmware, reports_dir / "virtual-rack")
    try:
        try:
            session.open()
        except BENCH_START_ERRORS as error:
            # Nothing can run without the bench itself: stop with one line.
            pytest.exit(f"the bench could not start: {error}", returncode=3)
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def rack(bench_session: BenchSession) -> dict[str, Phone]:
    return bench_session.phones


@pytest.fixture
def phone(request: pytest.FixtureRequest, rack: dict[str, Phone]) -> Phone:
    return rack[request.param]


@pytest.fixture(scope="session")
def gateway(rack_config: Rack, firmware: Manifest, reports_dir: Path) -> Gateway:
    return Gateway(rack_config.bench.gateway.interface, reports_dir / "pcaps" / firmware.build)


@pytest.fixture(scope="session")
def geo(rack_config: Rack) -> GeoDatabase:
    """The geo database, with the virtual rack's overlay on top when there is one."""
    overlay = rack_config.virtual.endpoints if rack_config.virtual else ()
    return GeoDatabase(overlay)


@pytest.fixture(scope="session")
def signoff(
    rack_config: Rack,
    firmware: Manifest,
    gateway: Gateway,
    geo: GeoDatabase,
    reports_dir: Path,
    bench_session: BenchSession,
) -> Signoff:
    """Everything a sign-off test needs to judge a cycle and leave its evidence."""
    return Signoff(rack_config, firmware, gateway, geo, reports_dir)
