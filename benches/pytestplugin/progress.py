"""Progress of a sign-off run: which phone is in which cycle, and how much is left.

Before each sign-off test, one line on the terminal (shown with ``-q`` too)
and the same at INFO in the log (``benches.pytestplugin.progress``)::

    bench: [5/12] SI…1 unlock cycle 1 (2 more unlock cycles, 7 more tests,
    ~3 min left at 25 s per cycle so far)

The estimate adds up, for this test and every later one, the mean time its
cycle kind took so far (the mean of all kinds for a kind not seen yet). There
is none before the first test has finished.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from benches.pytestplugin.cycle_tests import cycle_test
from benches.redaction.masks import device_label
from benches.redaction.safe_files import write_file

log = logging.getLogger(__name__)
PREFIX = "bench: "


@dataclass(frozen=True)
class Step:
    """One sign-off test: a cycle of one kind on one phone."""

    nodeid: str
    phone: str  # the phone's label ("SI…1"), never its serial
    kind: str
    index: int


def planned_step(item: pytest.Item) -> Step | None:
    """The sign-off step a test is, or None for any other test."""
    cycle = cycle_test(item)
    if cycle is None:
        return None
    return Step(item.nodeid, device_label(cycle.serial), cycle.kind, cycle.index)


def progress_line(
    plan: Sequence[Step], position: int, seconds: Mapping[str, Sequence[float]]
) -> str:
    """The line for ``plan[position]`` (0-based), given the seconds each kind took so far."""
    step = plan[position]
    later = plan[position + 1 :]
    same_kind = sum(1 for other in later if other.kind == step.kind)
    parts = [_count(same_kind, f"more {step.kind} cycle"), _count(len(later), "more test")]
    estimate = time_left(plan[position:], seconds)
    if estimate:
        parts.append(estimate)
    where = f"[{position + 1}/{len(plan)}] {step.phone} {step.kind} cycle {step.index}"
    return f"{where} ({', '.join(parts)})"


def time_left(steps: Sequence[Step], seconds: Mapping[str, Sequence[float]]) -> str | None:
    """``"~3 min left at 25 s per cycle so far"``; None before any cycle finished."""
    every = [s for kind in seconds.values() for s in kind]
    if not every:
        return None
    overall = statistics.fmean(every)
    total = sum(
        statistics.fmean(seconds[step.kind]) if seconds.get(step.kind) else overall
        for step in steps
    )
    return f"~{duration(total)} left at {overall:.0f} s per cycle so far"


def duration(seconds: float) -> str:
    """Rounded for people: ``40 s``, ``3 min``, ``2 h 05 min``."""
    if seconds < 59.5:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


class Progress:
    """The pytest plugin; benches.pytestplugin.hooks registers one for a sign-off session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.plan: list[Step] = []
        self.positions: dict[str, int] = {}
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self._spent: dict[str, float] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.plan = [step for step in map(planned_step, session.items) if step is not None]
        self.positions = {step.nodeid: n for n, step in enumerate(self.plan)}

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter starts the test's own line
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        position = self.positions.get(nodeid)
        if position is None:
            return
        line = progress_line(self.plan, position, self.seconds)
        self._write(PREFIX + line)
        log.info("%s", line)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid in self.positions:
            self._spent[report.nodeid] = self._spent.get(report.nodeid, 0.0) + report.duration

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        position = self.positions.get(nodeid)
        if position is not None and nodeid in self._spent:
            self.seconds[self.plan[position].kind].append(self._spent.pop(nodeid))

    def _write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        reporter.ensure_newline()
        writer = self.config.get_terminal_writer()
        if writer.width_of_current_line:  # -q: the dots so far stay on their own line
            writer.line()
        writer.write(line)
        # The reporter starts the test's own line itself when it names the test or its
        # file (its current file was just reset); with -q, end ours here.
        if not (reporter.showfspath or reporter.showlongtestinfo):
            writer.line()


def write_steps(path: Path, items: Sequence[pytest.Item], root: Path) -> None:
    """The run's sign-off steps, for a parallel controller's progress (it collects nothing)."""
    steps = [step for step in map(planned_step, items) if step is not None]
    write_file(path, json.dumps([dataclasses.asdict(step) for step in steps]) + "\n", root=root)


def read_steps(path: Path) -> list[Step]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [Step(r["nodeid"], r["phone"], r["kind"], int(r["index"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def parallel_line(
    plan: Sequence[Step],
    done: set[str],
    step: Step,
    outcome: str,
    seconds: Mapping[str, Sequence[float]],
) -> str:
    """The line for a finished ``step`` when phones run side by side: the time left is
    that of the phone with the most left, each phone's steps one after another."""
    left: dict[str, list[Step]] = defaultdict(list)
    for other in plan:
        if other.nodeid not in done:
            left[other.phone].append(other)
    mine = len(left.get(step.phone, ()))
    parts = [f"{_count(mine, 'more test')} on {step.phone}", f"{len(plan) - len(done)} more in all"]
    every = [s for kind in seconds.values() for s in kind]
    if every and left:
        overall = statistics.fmean(every)
        longest = max(
            sum(
                statistics.fmean(seconds[s.kind]) if seconds.get(s.kind) else overall for s in steps
            )
            for steps in left.values()
        )
        parts.append(f"~{duration(longest)} left at {overall:.0f} s per cycle so far")
    where = f"[{len(done)}/{len(plan)}] {step.phone} {step.kind} cycle {step.index} {outcome}"
    return f"{where} ({', '.join(parts)})"


class ParallelProgress:
    """The controller's progress on a parallel sign-off: a line per finished cycle, from the
    reports the workers send, in the order they finish (one writer: no torn lines)."""

    def __init__(self, config: pytest.Config, steps: Path) -> None:
        self.config = config
        self.steps_path = steps  # written by the workers (write_steps)
        self.plan: list[Step] = []
        self.steps: dict[str, Step] = {}
        self.done: set[str] = set()
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self._spent: dict[str, float] = {}
        self._outcome: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._spent[report.nodeid] = self._spent.get(report.nodeid, 0.0) + report.duration
        if report.failed:
            self._outcome[report.nodeid] = "error" if report.when != "call" else "failed"
        else:
            self._outcome.setdefault(report.nodeid, "passed" if report.when == "call" else "")
            if report.when == "call" and report.passed:
                self._outcome[report.nodeid] = "passed"
        if report.when == "???":  # xdist's report of a test whose worker died
            self._finish(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self._finish(nodeid)

    def _finish(self, nodeid: str) -> None:
        if not self.plan:
            self.plan = read_steps(self.steps_path)
            self.steps = {step.nodeid: step for step in self.plan}
        step = self.steps.get(nodeid)
        if step is None or nodeid in self.done:
            return
        self.done.add(nodeid)
        outcome = self._outcome.pop(nodeid, "") or "done"
        spent = self._spent.pop(nodeid, 0.0)
        if outcome in ("passed", "failed"):  # a cycle that ran; errors say little of its time
            self.seconds[step.kind].append(spent)
        line = parallel_line(self.plan, self.done, step, outcome, self.seconds)
        log.info("%s", line)
        writer = self.config.get_terminal_writer()
        if writer.width_of_current_line:
            writer.line()
        writer.line(PREFIX + line)
