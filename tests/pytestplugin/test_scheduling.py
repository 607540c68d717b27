"""PhoneScheduling: a worker that dies takes only its phone, and no test runs twice.

Node ids are pytest 9's, without xdist's "@group" (which pytest 9 no longer shows).
The scheduler is xdist's own (LoadGroupScheduling) under a real pytest config with
``-n 2``; the workers are stand-ins that record what they are sent (xdist's own
scheduler tests drive it the same way).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from _pytest.config import get_config

from benches.pytestplugin.scheduling import PhoneScheduling, group_of_test

BOOT, UNLOCK, IDLE = (
    "test_boot.py::test_boot",
    "test_unlock.py::test_unlock",
    "test_idle.py::test_idle",
)


@dataclass(eq=False)
class Worker:
    name: str
    sent: list[list[int]] = field(default_factory=list)
    shutting_down: bool = False

    @property
    def gateway(self) -> SimpleNamespace:
        return SimpleNamespace(id=self.name)

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.append(list(indices))

    def shutdown(self) -> None:
        self.shutting_down = True


def _collection() -> list[str]:
    return [
        f"{test}[{phone}-cycle1]" for test in (BOOT, UNLOCK, IDLE) for phone in ("SI_1", "SI_2")
    ]


def _scheduler(tmp_path: Path) -> tuple[PhoneScheduling, Worker, Worker]:
    config = get_config(["-p", "xdist"])
    config.pluginmanager.import_plugin("xdist.plugin")
    config.option.numprocesses = 2
    config.option.tx = ["popen"] * 2
    config.option.dist = "loadgroup"
    scheduler = PhoneScheduling(
        config, None, tmp_path / "phones-down.jsonl", frozenset({"SI_1", "SI_2"})
    )
    first, second = Worker("gw0"), Worker("gw1")
    for worker in (first, second):
        scheduler.add_node(worker)  # type: ignore[arg-type]
        scheduler.add_node_collection(worker, _collection())  # type: ignore[arg-type]
    scheduler.schedule()
    return scheduler, first, second


def test_each_phone_goes_to_one_worker_in_cycle_order(tmp_path: Path) -> None:
    scheduler, first, second = _scheduler(tmp_path)
    collection = _collection()
    sent = {
        tuple(collection[i] for i in first.sent[0]),
        tuple(collection[i] for i in second.sent[0]),
    }
    assert sent == {
        tuple(f"{test}[{phone}-cycle1]" for test in (BOOT, UNLOCK, IDLE))
        for phone in ("SI_1", "SI_2")
    }


def test_a_dead_worker_s_phone_is_down_and_its_crashed_test_never_runs_again(
    tmp_path: Path,
) -> None:
    scheduler, first, second = _scheduler(tmp_path)
    collection = _collection()
    phone = collection[first.sent[0][0]].split("[")[1].split("-")[0]
    scheduler.mark_test_complete(first, first.sent[0][0])  # its boot cycle finished
    crashed = scheduler.remove_node(first)  # type: ignore[arg-type]  # killed in unlock
    assert crashed == f"{UNLOCK}[{phone}-cycle1]"
    down = [json.loads(line) for line in (tmp_path / "phones-down.jsonl").read_text().splitlines()]
    assert [record["group"] for record in down] == [phone]
    assert "its worker gw0 died while running" in down[0]["reason"]
    # Every worker was told to stop once its queue is done (one group each), so xdist's
    # replacement of the dead worker takes the rest of the phone's group: idle only.
    replacement = Worker("gw2")
    scheduler.add_node(replacement)  # type: ignore[arg-type]
    scheduler.add_node_collection(replacement, collection)  # type: ignore[arg-type]
    scheduler.schedule()
    assert [[collection[i] for i in sent] for sent in replacement.sent] == [
        [f"{IDLE}[{phone}-cycle1]"]
    ]
    assert second.sent == [second.sent[0]]  # the other phone's worker got nothing more


def test_a_test_s_group_is_its_phone_whatever_pytest_shows() -> None:
    phones = frozenset({"VR_9", "VR_9_1"})
    assert group_of_test("t.py::test_boot[VR_9_1-cycle2]", phones) == "VR_9_1"
    assert group_of_test("t.py::test_boot[VR_9-cycle1]", phones) == "VR_9"
    assert group_of_test("t.py::test_boot[VR_9-cycle1]@VR_9", phones) == "VR_9"  # xdist's own
    assert group_of_test("t.py::test_other[x-y]", phones) == "t.py::test_other[x-y]"
