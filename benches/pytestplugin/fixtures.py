"""The sign-off suite's fixtures: the rack, the bench session, the phones, the gateway, the judge.

Loaded by the plugin (`benches.pytestplugin.hooks` names this module in `pytest_plugins`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from benches.analysis.attribution.geo import GeoDatabase
from benches.capture.gateway import Gateway
from benches.inventory.models import Manifest, Rack
from benches.pytestplugin.bench import BenchStartError, attach_bench, flash_session, open_bench
from benches.pytestplugin.config import SIGNOFF_RUN_KEY, manifest_of, rack_of
from benches.pytestplugin.interception import interception_session
from benches.pytestplugin.parallel import (
    attaches,
    check_phone_up,
    last_worker_done,
    worker_started,
)
from benches.pytestplugin.signoff import Signoff
from benches.rack.adb.phone import Phone
from benches.rack.session import BenchSession
from benches.redaction.masks import device_file_label
from benches.redaction.safe_files import make_directories
from benches.report.allure.attachments import attach_build_traffic


@pytest.fixture(scope="session", autouse=True)
def signoff_build_chart(pytestconfig: pytest.Config) -> Iterator[None]:
    """At the end of a sign-off session, where the build's traffic went (an Allure
    attachment of this fixture's tear-down, shown with every test of the session)."""
    if attaches(pytestconfig):
        worker_started(pytestconfig)
    yield
    # A parallel sign-off's workers: the last one to finish draws it, from every phone's log.
    last = not attaches(pytestconfig) or last_worker_done(pytestconfig)
    if pytestconfig.stash.get(SIGNOFF_RUN_KEY, False) and last:
        reports = Path(pytestconfig.getoption("reports"))
        attach_build_traffic(reports, manifest_of(pytestconfig))


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
    request: pytest.FixtureRequest, rack_config: Rack, firmware: Manifest, reports_dir: Path
) -> Iterator[BenchSession]:
    """The adb server, and the virtual rack when devices.yaml describes one. On a
    parallel sign-off's worker, the session the controller opened (parallel.py)."""
    if attaches(request.config):
        session = attach_bench(rack_config, firmware)
        try:
            yield session
        finally:
            session.close()
        return
    try:
        session = open_bench(rack_config, firmware, reports_dir / "virtual-rack")
    except BenchStartError as error:
        # Nothing can run without the bench itself: stop with one line.
        pytest.exit(f"the bench could not start: {error}", returncode=3)
    try:
        if request.config.getoption("flash"):
            flash_session(session, rack_config, firmware)
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def phones(bench_session: BenchSession) -> dict[str, Phone]:
    """Every phone of the rack, by serial."""
    return bench_session.phones


@pytest.fixture(scope="session")
def rack(phones: dict[str, Phone]) -> dict[str, Phone]:
    """Deprecated alias of `phones` (it never was the rack: that is `rack_config`)."""
    warnings.warn(
        "the `rack` fixture is deprecated and goes in the next release: use `phones` "
        "(the same dict of phones by serial)",
        DeprecationWarning,
        stacklevel=2,
    )
    return phones


# ids: what ``pytest --setup-show`` prints for the parameter, the phone's label ("SI_1")
# rather than its serial (the parameter itself, the session's key for the phone).
@pytest.fixture(ids=device_file_label)
def phone(request: pytest.FixtureRequest, bench_session: BenchSession) -> Phone:
    """One phone of the rack; a phone taken out of the session errors as a bench fault,
    and so does one whose worker died (a parallel sign-off)."""
    check_phone_up(request.config, request.param)
    bench_session.health.check(request.param)
    return bench_session.phones[request.param]


@pytest.fixture(scope="session")
def gateway(rack_config: Rack, firmware: Manifest, reports_dir: Path) -> Gateway:
    pcap_dir = reports_dir / "pcaps" / firmware.build
    # Made here, below the reports a person named, following no link: the pcaps,
    # consoles and logcats are then each written as a new file in it (safe_files).
    try:
        make_directories(pcap_dir, reports_dir)
    except OSError as error:  # UnsafePath: a link planted where the folder goes
        pytest.exit(f"the pcap folder cannot be made: {error}", returncode=3)
    interception = interception_session(rack_config, firmware, reports_dir)
    return Gateway(rack_config.bench.gateway.interface, pcap_dir, interception)


@pytest.fixture(scope="session")
def geo(rack_config: Rack) -> GeoDatabase:
    """The geo database, with the virtual rack's overlay on top when there is one."""
    return GeoDatabase.for_rack(rack_config)


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
    return Signoff(rack_config, firmware, gateway, geo, reports_dir, bench_session)
