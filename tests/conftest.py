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
ports (tests/test_parallel_ranges.py checks that no two share one).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_guard import not_live, write_adb_stand_in

_adb_stand_in: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _adb_stand_in
    _adb_stand_in = write_adb_stand_in(Path(tempfile.mkdtemp(prefix="bench-not-live-")))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _adb_stand_in is not None:
        shutil.rmtree(_adb_stand_in.parent, ignore_errors=True)


# tryfirst: before xdist's own hook, which reads the group into the test's node id.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put each module's live tests in one xdist group (one worker, in file order)."""
    here = Path(__file__).parent
    for item in items:
        if here not in item.path.parents or not item.get_closest_marker("live"):
            continue
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(f"live:{item.nodeid.split('::')[0]}"))


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
