"""Activation: factory reset, first boot, provisioning, network and SIM attach."""

from __future__ import annotations

import pytest

from benches.pytestplugin.signoff import Signoff, sign_off_cycle
from benches.rack.adb.phone import Phone


@pytest.mark.cycle("activation")
def test_activation(phone: Phone, cycle: int, signoff: Signoff) -> None:
    sign_off_cycle(signoff, phone, "activation", cycle)
