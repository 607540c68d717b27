"""Boot: a hard power cycle through the phone's relay (or `adb reboot` without one)."""

from __future__ import annotations

import pytest

from benches.phone import Phone
from benches.signoff import Signoff, sign_off_cycle


@pytest.mark.cycle("boot")
def test_boot(phone: Phone, cycle: int, signoff: Signoff) -> None:
    sign_off_cycle(signoff, phone, "boot", cycle)
