"""Activation: factory reset, first boot, provisioning, network and SIM attach."""

from __future__ import annotations

import pytest

from benches.phone import Phone
from benches.signoff import Signoff, sign_off_cycle


@pytest.mark.cycle("activation")
def test_activation(phone: Phone, cycle: int, signoff: Signoff) -> None:
    sign_off_cycle(signoff, phone, "activation", cycle)
