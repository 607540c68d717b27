"""A sign-off on pytest-xdist workers: every phone on a worker of its own, one bench for all.

``pytest testcases -n N`` (and ``bench signoff``) runs each phone's cycles on one
worker, in the fixed cycle order, all phones at once:

- the tests of a phone carry ``xdist_group(<its label>)`` (the masked label, never
  the serial: the group shows in node ids) and `PhoneScheduling` hands each group
  to one worker, whatever ``--dist`` says;
- the controller opens the one bench session (adb server, virtual rack, power on,
  wait until booted) before the workers start and closes it after they are gone;
  the workers attach to it (`benches.pytestplugin.bench.attach_bench`);
- the controller alone clears the verdict log and writes the summary; the workers
  write the plan atomically, each the same;
- a worker that dies takes only its phone with it: `PhoneScheduling` records the
  phone as down (`phones_down_path`) before its remaining tests go to another
  worker, where the ``phone`` fixture errors each as a bench fault naming it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from benches.inventory.models import Rack
from benches.pytestplugin.bench import (
    BenchStartError,
    check_capture_permission,
    flash_session,
    open_bench,
)
from benches.pytestplugin.config import manifest_of, rack_of
from benches.pytestplugin.rack_lock import hold_rack
from benches.pytestplugin.scheduling import PhoneScheduling, group_of_test
from benches.pytestplugin.worker_forkserver import Forkserver
from benches.rack.health import BenchFault
from benches.rack.session import BenchSession
from benches.redaction.masks import device_labels
from benches.redaction.safe_files import make_directories
from benches.report.summary.plan import plan_path
from benches.report.verdict_log import expected_count_path, verdict_log_path

WORKER_INPUT_KEY = "benches_session"  # in a worker's `workerinput`: the controller's session is up
GROUP_MARKER = "xdist_group"
WATCH_INTERVAL_S = 0.05  # how often the controller looks for a worker's cue (a stat)


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """The xdist controller of a run with workers (``-n N``, N > 0)."""
    if is_worker(config) or not config.pluginmanager.hasplugin("xdist"):
        return False
    return bool(config.getoption("numprocesses", None)) and (config.getoption("dist", "no") != "no")


def attaches(config: pytest.Config) -> bool:
    """A worker whose controller opened the bench session: it attaches, never opens one."""
    return is_worker(config) and bool(config.workerinput.get(WORKER_INPUT_KEY))  # type: ignore[attr-defined]


def session_dir(config: pytest.Config) -> Path:
    """The run's own files shared between controller and workers, below --reports."""
    reports = Path(config.getoption("reports"))
    return reports / "verdicts" / f"{manifest_of(config).build}.session"


def phones_down_path(config: pytest.Config) -> Path:
    return session_dir(config) / "phones-down.jsonl"


def phone_group(config: pytest.Config, serial: str) -> str:
    """The xdist group of a phone's tests: its label's ASCII form ("SI_1")."""
    serials = [device.serial for device in rack_of(config).devices]
    return device_labels(serials)[serial].safe


def check_phone_up(config: pytest.Config, serial: str) -> None:
    """BenchFault when the worker that ran this phone died earlier in the session."""
    if not is_worker(config):
        return
    path = phones_down_path(config)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    group = phone_group(config, serial)
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("group") == group:
                raise BenchFault(str(record.get("reason")))


def group_by_phone(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test of a phone the phone's xdist group (read by xdist at collection);
    a worker with such a test tells the controller to start the bench (`phones_wanted_path`)."""
    config.option.loadgroup = True
    wanted = False
    for item in items:
        serial = getattr(getattr(item, "callspec", None), "params", {}).get("phone")
        if isinstance(serial, str) and item.get_closest_marker(GROUP_MARKER) is None:
            item.add_marker(pytest.mark.xdist_group(phone_group(config, serial)))
            wanted = True
    if wanted:
        with contextlib.suppress(OSError):  # then the controller starts on xdist's message
            _count(phones_wanted_path(config))


def phones_wanted_path(config: pytest.Config) -> Path:
    """Made by the first worker that collected a test driving a phone: the controller's
    cue to open the bench while the other workers still start (`ParallelController`)."""
    return session_dir(config) / "phones-wanted"


def end_without_cleanup() -> None:
    """A sign-off worker's process, once pytest has unconfigured, ends without the
    interpreter's clean-up (freeing a big heap, a last garbage collection: ~0.15 s of CPU
    per worker, every worker at the same moment at the end of the run). By then its
    results are sent to the controller and its files written and closed; the threads
    still running were joined (the interpreter does that before the atexit handlers)."""
    atexit.register(_exit_now)


def _exit_now() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(0)  # xdist reads a worker's outcome from its messages, never its exit code


def worker_started(config: pytest.Config) -> None:
    """Counts this worker among those that ran tests (see `last_worker_done`)."""
    _count(session_dir(config) / "workers-started")


def last_worker_done(config: pytest.Config) -> bool:
    """Counts this worker as finished; True when every worker that started has finished.

    A worker that died never finishes: the session then has no last worker.
    """
    started = _count(session_dir(config) / "workers-started", add=False)
    return _count(session_dir(config) / "workers-finished") >= started


def _count(path: Path, *, add: bool = True) -> int:
    """Lines in a counter file, after adding one when `add`; under the file's lock."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        if add:
            os.write(descriptor, b"1\n")
        return os.fstat(descriptor).st_size // 2
    finally:
        os.close(descriptor)


class _Probe(threading.Thread):
    """`check_capture_permission` beside the bench's start; its error kept for the caller."""

    def __init__(self, rack: Rack) -> None:
        super().__init__(name="bench-capture-probe", daemon=True)
        self.rack = rack
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            check_capture_permission(self.rack)
        except BaseException as error:
            self.failure = error


class ParallelController:
    """The controller's part; benches.pytestplugin.hooks registers it for ``-n N`` sign-offs."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.session: BenchSession | None = None
        self._opening: threading.Thread | None = None
        self._started = False
        self._starting = threading.Lock()
        self._watching: threading.Thread | None = None
        self._watched = threading.Event()  # set: stop watching for the cue
        self._collected = 0
        self._failure: BaseException | None = None
        # The fixed cycle order within a group and a group per phone, whatever --dist said.
        config.option.dist = "loadgroup"
        serials = [device.serial for device in rack_of(config).devices]
        self.groups = frozenset(label.safe for label in device_labels(serials).values())
        self.forkserver: Forkserver | None = None
        if not config.getoption("fresh_workers"):
            self._fork_workers()

    def _fork_workers(self) -> None:
        """Workers forked from one warm process (`worker_forkserver`), not 24 interpreters
        importing the same modules one after another; xdist's plain "popen" specs only."""
        started = Forkserver.start([str(arg) for arg in self.config.invocation_params.args])
        if isinstance(started, str):
            print(f"bench: {started}; each worker starts as a new interpreter", file=sys.stderr)
            return
        self.forkserver = started
        specs = self.config.option.tx
        self.config.option.tx = [started.spec if spec == "popen" else spec for spec in specs]

    @pytest.hookimpl(tryfirst=True)  # before xdist starts its workers (its hook is trylast)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = self.config
        # The controller holds the rack for its workers, before anything is touched.
        hold_rack(config)
        reports = Path(config.getoption("reports"))
        build = manifest_of(config).build
        # This session's results only, cleared once before any worker runs.
        try:
            make_directories(session_dir(config), reports)
            shutil.rmtree(session_dir(config))
            make_directories(session_dir(config), reports)
            for stale in (verdict_log_path(reports, build), expected_count_path(reports, build)):
                stale.unlink(missing_ok=True)
            plan_path(reports, build).unlink(missing_ok=True)
        except OSError as error:
            raise pytest.UsageError(f"cannot prepare the run's results: {error}") from None
        # xdist starts the workers one after another in this thread and reads their
        # messages only once the last has started (seconds, with 24 workers importing on
        # 2 cores): the first worker's cue comes through a file instead.
        self._watching = threading.Thread(target=self._watch, name="bench-cue", daemon=True)
        self._watching.start()

    def _watch(self) -> None:
        cue = phones_wanted_path(self.config)
        while not self._watched.wait(WATCH_INTERVAL_S):
            if cue.exists():
                self._start()
                return

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """The bench starts when the first worker has collected a test that drives a phone
        (as the serial `bench_session` fixture starts only for one; its cue file, or this
        message, whichever comes first), and comes up while the other workers still start
        (imports, collection: CPU the bench's waits leave free). The last worker's
        collection waits for it: xdist hands out no test before."""
        self._collected += 1
        wanted = any(group_of_test(nodeid, self.groups) in self.groups for nodeid in ids)
        if wanted:
            self._start()
        if self._collected >= int(self.config.getoption("numprocesses")):
            self._ready()

    def _start(self) -> None:
        with self._starting:
            if self._started:
                return
            self._started = True
            self._opening = threading.Thread(target=self._open, name="bench", daemon=True)
            self._opening.start()

    def _stop_watching(self) -> None:
        self._watched.set()
        if self._watching is not None:
            self._watching.join()
            self._watching = None

    def _open(self) -> None:
        config = self.config
        rack, manifest = rack_of(config), manifest_of(config)
        workdir = Path(config.getoption("reports")) / "virtual-rack"
        # The capture probe (a capture started and stopped: most of a second) runs while
        # the phones come up; a bench that may not capture is closed again before any cycle.
        probe = _Probe(rack)
        probe.start()
        try:
            self.session = open_bench(rack, manifest, workdir, shared=True)
            probe.join()
            if probe.failure is not None:
                raise probe.failure  # a pytest.UsageError, raised again by `_ready`
            if config.getoption("flash"):
                flash_session(self.session, rack, manifest)
        except BaseException as error:  # raised again in the main thread (`_ready`)
            probe.join()
            self._failure = error

    def _ready(self) -> None:
        self._stop_watching()
        with self._starting:  # a cue seen now starts nothing more
            self._started = True
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        failure, self._failure = self._failure, None
        if isinstance(failure, BenchStartError):
            pytest.exit(f"the bench could not start: {failure}", returncode=3)
        if failure is not None:
            raise failure

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # The session is up before any test runs, or the run stops (`_ready`).
        node.workerinput[WORKER_INPUT_KEY] = True

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        return PhoneScheduling(config, log, phones_down_path(config), self.groups)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport) -> None:
        group = group_of_test(crashitem, self.groups)
        report.longrepr = f"bench fault: phone {group}: {report.longrepr}"

    @pytest.hookimpl(trylast=True)  # after the summary, once every worker is gone
    def pytest_sessionfinish(self) -> None:
        self._stop_watching()
        with self._starting:
            self._started = True
        if self._opening is not None:  # stopped before the loop: let it finish, then close
            self._opening.join()
        if self.session is not None:
            self.session.close()
            self.session = None
        self._stop_forkserver()

    def pytest_unconfigure(self) -> None:
        self._stop_forkserver()  # a run that ended before its session finished

    def _stop_forkserver(self) -> None:
        if self.forkserver is not None:
            self.forkserver.stop()
            self.forkserver = None
