"""Sign-off: every phone through N boot cycles, each judged from its own capture."""

from __future__ import annotations

import allure
import pytest

from benches.cycles import run_boot_cycle
from benches.phone import Phone
from benches.report import enforce_verdict, label_test
from benches.signoff import Signoff


@pytest.mark.cycle("boot")
def test_boot(phone: Phone, cycle: int, signoff: Signoff) -> None:
    label_test(signoff.manifest, "boot", phone.device)
    with allure.step(f"boot cycle {cycle} of {phone.serial}"):
        record = run_boot_cycle(phone, signoff.gateway, signoff.timings, cycle)
        result = signoff.judge(record)
    enforce_verdict(result)
