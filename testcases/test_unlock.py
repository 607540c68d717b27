"""Unlock: screen off, wait, wake, dismiss the keyguard (with the phone's PIN), verified."""

from __future__ import annotations

import pytest

from benches.phone import Phone
from benches.signoff import Signoff, sign_off_cycle


@pytest.mark.cycle("unlock")
def test_unlock(phone: Phone, cycle: int, signoff: Signoff) -> None:
    sign_off_cycle(signoff, phone, "unlock", cycle)
