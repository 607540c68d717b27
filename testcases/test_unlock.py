"""Unlock: screen off, wait, wake, dismiss the keyguard (with the phone's PIN), verified."""

from __future__ import annotations

import pytest

from benches.pytestplugin.signoff import Signoff, sign_off_cycle
from benches.rack.adb.phone import Phone


@pytest.mark.cycle("unlock")
def test_unlock(phone: Phone, cycle: int, signoff: Signoff) -> None:
    sign_off_cycle(signoff, phone, "unlock", cycle)
