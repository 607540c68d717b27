"""Which worker runs which phone: xdist's loadgroup scheduling, with a dead worker's phone
recorded as down and the test it died in never run again.

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
    def __init__(self, config: pytest.Config, log: Any, phones_down: Path) -> None:
        super().__init__(config, log)
        self.phones_down = phones_down

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


def record_phone_down(path: Path, group: str, reason: str) -> None:
    """One line in the session's list of phones whose worker died."""
    line = json.dumps({"group": group, "reason": reason}) + "\n"
    append_text(path, line, root=path.parent)
