"""Which sign-off cycle a collected test runs: its ``cycle`` marker's kind, its phone and
its cycle index, read off the pytest item in one place for the plan and the progress line."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class CycleTest:
    serial: str  # the ``phone`` parameter: the phone's serial, never shown to people
    kind: str
    index: int


def cycle_test(item: pytest.Item) -> CycleTest | None:
    """The cycle ``item`` runs; None for a test without a ``cycle`` marker or a phone."""
    marker = item.get_closest_marker("cycle")
    params = getattr(getattr(item, "callspec", None), "params", {})
    serial = params.get("phone")
    if marker is None or not marker.args or not isinstance(serial, str):
        return None
    return CycleTest(serial, str(marker.args[0]), int(params.get("cycle", 1)))
