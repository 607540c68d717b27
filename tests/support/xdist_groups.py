"""The suite's xdist groups: which tests must run on one worker, one after another.

`./run test` runs pytest-xdist with `--dist loadgroup`. xdist 3.8 tells its
scheduler a test's `xdist_group` by appending "@group" to the test's node id
in the worker, and pytest 9.2's node ids no longer take that change
(pytest-dev/pytest-xdist#1386): every group would silently fall apart, and two
workers would start the same module's virtual rack on the same addresses. So
the workers write the groups down instead (one JSON file per worker, under a
folder the controller names) and the controller schedules with
:class:`GroupScheduling`, which reads them; node ids stay as they are.

A test's group is the name in its `xdist_group` marker; a live test of this
suite without one is in its module's group (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

WORKER_INPUT_KEY = "bench_xdist_groups"  # the folder, in each worker's workerinput


def group_of(item: pytest.Item, module_group_for_live: bool) -> str | None:
    """The item's xdist group: its marker's name(s), or its module's if it is live."""
    names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                    for mark in item.iter_markers("xdist_group")})  # fmt: skip
    if names:
        return "_".join(names)
    if module_group_for_live and item.get_closest_marker("live") is not None:
        return f"live:{item.nodeid.split('::')[0]}"
    return None


def write_groups(folder: Path, worker: str, groups: dict[str, str]) -> None:
    """One worker's {node id: group}, written whole (a reader never sees half a file)."""
    handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{worker}-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(groups, out)
    os.replace(partial, folder / f"{worker}.json")


class GroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling, with each grouped test's scope its group.

    A test in no group is a scope of its own, so it goes wherever a worker is
    free. Scopes go out largest first (xdist's --loadscope-reorder default),
    so the long groups start early.
    """

    def __init__(self, config: pytest.Config, log: Any, folder: Path) -> None:
        super().__init__(config, log)
        self.folder = folder
        self.groups: dict[str, str] | None = None

    def schedule(self) -> None:
        if self.groups is None and self.collection_is_completed:
            self.groups = self._read_groups()
        super().schedule()

    def _read_groups(self) -> dict[str, str]:
        # Every worker collected the same tests (xdist checks), so any file will do;
        # a worker writes its file before it reports its collection finished.
        for node in self.nodes:
            path = self.folder / f"{node.gateway.id}.json"
            if path.is_file():
                groups: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
                return groups
        raise RuntimeError(f"no worker wrote its xdist groups under {self.folder}")

    def _split_scope(self, nodeid: str) -> str:
        assert self.groups is not None
        group = self.groups.get(nodeid)
        return f"group:{group}" if group is not None else nodeid
