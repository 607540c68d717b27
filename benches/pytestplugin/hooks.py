"""The pytest plugin: options, fixtures and the sign-off suite's session.

Registered through the `pytest11` entry point (name `benches.pytestplugin.hooks`), so any
repository with the package installed can write sign-off tests; the root
conftest.py names the same module, which pytest then recognises as loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import allure_commons
import pytest

from benches.cycles import cycle_rank
from benches.inventory.models import INTERCEPTION_SETTINGS
from benches.pytestplugin.bench import check_capture_permission
from benches.pytestplugin.config import SIGNOFF_RUN_KEY, manifest_of, rack_of
from benches.pytestplugin.cycle_tests import cycle_test
from benches.pytestplugin.masking import AllureMasking, MaskingPlugin
from benches.pytestplugin.parallel import (
    ParallelController,
    attaches,
    end_without_cleanup,
    group_by_phone,
    is_controller,
    is_worker,
    session_dir,
)
from benches.pytestplugin.progress import ParallelProgress, Progress, write_steps
from benches.pytestplugin.rack_lock import hold_rack
from benches.redaction.masks import SHOW_IDENTIFIERS_ENV, device_labels
from benches.redaction.rack_masker import forget_rack, use_rack
from benches.report.allure.metadata import write_run_metadata
from benches.report.cycle_entry import device_ref
from benches.report.summary.plan import Planned, plan_path, write_plan
from benches.report.summary.writer import write_summary
from benches.report.verdict_log import verdict_log_path, write_expected_count

HYPOTHESIS_PLUGIN = "hypothesispytest"  # its pytest11 entry point
SIGNOFF_FIXTURES = {"phone", "rack", "gateway", "firmware", "bench_session", "signoff"}
_SUMMARY_KEY = pytest.StashKey[str]()  # where the sign-off summary went, for the terminal
_ALLURE_MASKING_KEY = pytest.StashKey[AllureMasking]()

# The fixtures live in their own module; pytest loads it with this plugin.
pytest_plugins = ("benches.pytestplugin.fixtures",)


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
        "--flash",
        action="store_true",
        help="flash the manifest's image on every phone (fastboot) before the first cycle",
    )
    group.addoption(
        "--reports",
        default="reports",
        help="where pcaps and allure-results go (default: reports)",
    )
    group.addoption(
        "--wait",
        dest="wait_for_rack",
        action="store_true",
        help="when another session holds the rack, wait for it instead of stopping (exit 4)",
    )
    group.addoption(
        "--show-identifiers",
        action="store_true",
        help=f"show IMEIs, serials and other identifiers raw (sets {SHOW_IDENTIFIERS_ENV}=1): "
        "for an auditor's local run, never a report to share",
    )
    group.addoption(
        "--fresh-workers",
        action="store_true",
        help="with -n: start every worker as a new interpreter, not as a fork of the "
        "warm fork server (slower start; for comparing or debugging)",
    )
    group.addoption(
        "--interception",
        choices=INTERCEPTION_SETTINGS,
        default=None,
        help="TLS interception at the gateway: required, optional or off "
        "(default: the manifest's `interception:`, else off)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cycle(kind): a sign-off cycle of this kind")
    if config.getoption("show_identifiers"):
        os.environ[SHOW_IDENTIFIERS_ENV] = "1"  # subprocesses too
    if not config.getoption("firmware"):
        return
    # A sign-off run: a bad rack or manifest stops it here, as one line, before collection.
    manifest_of(config)
    # Hypothesis's plugin (installed with the test extra) imports all of Hypothesis in
    # every process's terminal summary, whatever ran: ~0.3 s of CPU in each of a parallel
    # sign-off's workers and its controller, all at the end of the run. A sign-off has no
    # Hypothesis tests; `bench signoff` passes `-p no:hypothesispytest` for the same reason.
    config.pluginmanager.set_blocked(HYPOTHESIS_PLUGIN)
    # From here on phones go by their labels, and every log record is masked.
    use_rack(rack_of(config))
    allure_masking = AllureMasking()
    allure_commons.plugin_manager.register(allure_masking)
    config.stash[_ALLURE_MASKING_KEY] = allure_masking
    config.pluginmanager.register(MaskingPlugin(), "benches-masking")
    if is_worker(config):
        # The controller cleared the results once; a worker (or one replacing a dead one)
        # must not clear what the others wrote. Its progress lines go nowhere.
        config.option.clean_alluredir = False
    elif is_controller(config):
        config.pluginmanager.register(ParallelController(config), "benches-parallel")
        steps = session_dir(config) / "steps.json"
        config.pluginmanager.register(ParallelProgress(config, steps), "benches-progress")
    else:
        config.pluginmanager.register(Progress(config), "benches-progress")
    # allure-pytest reads this in its own pytest_configure, which runs after ours.
    if not config.getoption("allure_report_dir", None):
        config.option.allure_report_dir = str(Path(config.getoption("reports")) / "allure-results")


def pytest_unconfigure(config: pytest.Config) -> None:
    allure_masking = config.stash.get(_ALLURE_MASKING_KEY, None)
    if allure_masking is not None:
        allure_commons.plugin_manager.unregister(allure_masking)
        forget_rack()
    if attaches(config):
        end_without_cleanup()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "phone" in metafunc.fixturenames:
        # The parameter stays the serial (the fixture's key); the id people read is its
        # label's ASCII form, "SI_1": pytest would escape the "…" of "SI…1".
        serials = [device.serial for device in rack_of(metafunc.config).devices]
        labels = device_labels(serials)
        ids = [labels[serial].safe for serial in serials]
        metafunc.parametrize("phone", serials, ids=ids, indirect=True, scope="function")
    if "cycle" in metafunc.fixturenames:
        count = metafunc.config.getoption("cycles")
        if count < 1:
            raise pytest.UsageError(f"--cycles must be at least 1, not {count}")
        cycles = list(range(1, count + 1))
        metafunc.parametrize("cycle", cycles, ids=[f"cycle{n}" for n in cycles])


@pytest.hookimpl(tryfirst=True)  # the groups before xdist reads them into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Sign-off tests run boot, unlock, activation, idle, whatever their files are called;
    on a parallel sign-off's worker, each phone's tests are one xdist group."""
    if attaches(config):
        group_by_phone(config, items)

    def rank(item: pytest.Item) -> int:
        marker = item.get_closest_marker("cycle")
        return cycle_rank(marker.args[0] if marker and marker.args else None)

    items.sort(key=rank)


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
    hold_rack(config)  # before the first thing on the rack is touched, the capture probe
    rack = rack_of(config)
    worker = attaches(config)
    if not worker:  # a parallel sign-off's controller checked it once for all
        check_capture_permission(rack)
    signoff_tests = [
        item for item in session.items if "signoff" in getattr(item, "fixturenames", ())
    ]
    reports, build = Path(config.getoption("reports")), manifest_of(config).build
    cells = [cell for cell in map(cycle_test, signoff_tests) if cell is not None]
    try:
        # Every worker collected the same tests and writes the same files, each atomically.
        write_expected_count(reports, build, len(signoff_tests))
        if worker:
            write_steps(session_dir(config) / "steps.json", session.items, reports)
        else:
            # This session's verdicts only: the summary must not mix in an earlier run's.
            verdict_log_path(reports, build).unlink(missing_ok=True)
        write_plan(reports, build, [Planned(device_ref(c.serial), c.kind, c.index) for c in cells])
    except OSError as error:  # a link planted in reports/ (safe_files), a full disk, ...
        raise pytest.UsageError(f"cannot write the run's plan: {error}") from None
    config.stash[SIGNOFF_RUN_KEY] = True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A sign-off writing allure-results: add Allure's categories, environment, executor.
    A sign-off run: write its summary, reports/signoff/<build>/."""
    config = session.config
    if is_worker(config):
        return  # the controller writes these once, after every worker has finished
    if is_controller(config) and config.getoption("firmware"):
        reports = Path(config.getoption("reports"))
        if plan_path(reports, manifest_of(config).build).exists():  # written by the workers
            config.stash[SIGNOFF_RUN_KEY] = True
    results = config.getoption("allure_report_dir", None)
    if results and config.getoption("firmware"):
        write_run_metadata(Path(results), rack_of(config), manifest_of(config))
    if config.stash.get(SIGNOFF_RUN_KEY, False):
        reports = Path(config.getoption("reports"))
        try:
            index, decision = write_summary(
                reports, rack_of(config), manifest_of(config), int(exitstatus)
            )
        except OSError as error:
            config.stash[_SUMMARY_KEY] = f"sign-off summary not written: {error}"
        else:
            config.stash[_SUMMARY_KEY] = f"sign-off summary: {decision.label}, {index}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = terminalreporter.config.stash.get(_SUMMARY_KEY, None)
    if line:
        terminalreporter.write_line(line)
