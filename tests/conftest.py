"""The framework's own tests: fixtures several modules share, and the `live` marker's guard.

A test that needs root, raw sockets (the capture), ports below 1024 (the
virtual rack's endpoints) or the adb server carries the `live` marker, so that
`pytest -m "not live"` is a quick loop without root. A test without the marker
runs under tests/support/live_guard.py: as if unprivileged and without adb, and
it fails with "mark it live" when it reaches for any of those.

Under pytest-xdist (`./run test` passes `-n`), the live tests of one module run
on one worker, one after another, as they were written: a module's virtual rack
(a module-scoped fixture) is started once, and its tests never overlap each
other. A live test that starts a rack of its own says so with
`@pytest.mark.xdist_group("127.N")` (its range) and runs beside its module's
others. Modules run side by side; each has its own loopback ranges and adb
ports (tests/test_parallel_ranges.py checks that no two share one). The groups
reach xdist's scheduler through tests/support/xdist_groups.py, not through
node ids (pytest 9.2 broke that path).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import xdist_groups
from tests.support.live_guard import not_live, write_adb_stand_in

_adb_stand_in: Path | None = None
_xdist_groups_folder: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _adb_stand_in
    _adb_stand_in = write_adb_stand_in(Path(tempfile.mkdtemp(prefix="bench-not-live-")))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _adb_stand_in is not None:
        shutil.rmtree(_adb_stand_in.parent, ignore_errors=True)
    if _xdist_groups_folder is not None:
        shutil.rmtree(_xdist_groups_folder, ignore_errors=True)


# The xdist groups (tests/support/xdist_groups.py): each worker writes them down, the
# controller schedules by them. optionalhook: the hooks are xdist's, absent without it.
@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput[xdist_groups.WORKER_INPUT_KEY] = str(_groups_folder())


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    return xdist_groups.GroupScheduling(config, log, _groups_folder())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    folder = getattr(config, "workerinput", {}).get(xdist_groups.WORKER_INPUT_KEY)
    if folder is None:
        return
    here = Path(__file__).parent
    groups = {}
    for item in items:
        group = xdist_groups.group_of(item, module_group_for_live=here in item.path.parents)
        if group is not None:
            groups[item.nodeid] = group
    xdist_groups.write_groups(Path(folder), config.workerinput["workerid"], groups)


def _groups_folder() -> Path:
    global _xdist_groups_folder
    if _xdist_groups_folder is None:
        _xdist_groups_folder = Path(tempfile.mkdtemp(prefix="bench-xdist-groups-"))
    return _xdist_groups_folder


def _guarded(item: pytest.Item) -> bool:
    """An unmarked test of this folder (not QA's testcases/, when a run collects both)."""
    mine = Path(__file__).parent in item.path.parents
    return mine and _adb_stand_in is not None and item.get_closest_marker("live") is None


# The whole protocol (setup, call, teardown): the test's own monkeypatch is undone at
# teardown, so the guard must be undone after it, or the test would put it back.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    if not _guarded(item):
        return (yield)
    assert _adb_stand_in is not None
    with not_live(_adb_stand_in):
        return (yield)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in tmp_path, so that errors name a file as the test gave it: devices.yaml."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
