"""Which worker runs which phone: xdist's loadgroup scheduling, with a dead worker's phone
recorded as down and the test it died in never run again.

A test's group is its phone, read off its node id's parameters ("[VR_9-cycle1]"):
pytest-xdist 3.8 adds "@<xdist_group>" to node ids by setting `item._nodeid`,
which pytest 9 no longer reads, so its loadgroup would run every test alone,
anywhere. A node id that does carry "@group" keeps xdist's meaning.

xdist's own `remove_node` puts a dead worker's unfinished group back in the queue,
the test it was running included (xdist reports that one as failed as well). Here
that test counts as done, and the phone is recorded as down first, so the worker
that picks up the rest errors each test as a bench fault naming the phone
(benches.pytestplugin.parallel.check_phone_up) instead of driving a phone in a
state nobody knows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling

from benches.redaction.safe_files import append_text


class PhoneScheduling(LoadGroupScheduling):
    def __init__(
        self, config: pytest.Config, log: Any, phones_down: Path, phones: frozenset[str]
    ) -> None:
        """`phones`: the phones' groups, their labels as test ids show them ("VR_9")."""
        super().__init__(config, log)
        self.phones_down = phones_down
        self.phones = phones

    def _split_scope(self, nodeid: str) -> str:
        return group_of_test(nodeid, self.phones)

    def remove_node(self, node: Any) -> str | None:
        workload = self.assigned_work.get(node, {})
        for group, unit in workload.items():
            unfinished = [nodeid for nodeid, done in unit.items() if not done]
            if not unfinished:
                continue
            crashed = unfinished[0]
            reason = (
                f"bench fault: phone {group}: its worker {node.gateway.id} died while running "
                f"{crashed}; its remaining cycles were not run"
            )
            record_phone_down(self.phones_down, group, reason)
            unit[crashed] = True  # xdist reports it as crashed; it is never run twice
            super().remove_node(node)  # the rest of the group goes back in the queue
            return crashed
        return super().remove_node(node)


def group_of_test(nodeid: str, phones: frozenset[str]) -> str:
    """The phone a test drives (its group), or the node id itself for any other test."""
    if nodeid.rfind("@") > nodeid.rfind("]"):
        return nodeid.rpartition("@")[2]
    if nodeid.endswith("]"):
        for part in nodeid[nodeid.rfind("[") + 1 : -1].split("-"):
            if part in phones:
                return part
    return nodeid


def record_phone_down(path: Path, group: str, reason: str) -> None:
    """One line in the session's list of phones whose worker died."""
    line = json.dumps({"group": group, "reason": reason}) + "\n"
    append_text(path, line, root=path.parent)
