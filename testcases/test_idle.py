"""Idle: screen off and nothing driven for a long window: what the phone sends on its own."""

from __future__ import annotations

import pytest

from benches.pytestplugin.signoff import Signoff, sign_off_cycle
from benches.rack.adb.phone import Phone


@pytest.mark.cycle("idle")
def test_idle(phone: Phone, cycle: int, signoff: Signoff) -> None:
    sign_off_cycle(signoff, phone, "idle", cycle)
