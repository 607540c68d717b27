"""Boot: a hard power cycle through the phone's relay (or `adb reboot` without one)."""

from __future__ import annotations

import pytest

from benches.pytestplugin.signoff import Signoff, sign_off_cycle
from benches.rack.adb.phone import Phone


@pytest.mark.cycle("boot")
def test_boot(phone: Phone, cycle: int, signoff: Signoff) -> None:
    sign_off_cycle(signoff, phone, "boot", cycle)
