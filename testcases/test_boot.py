"""Sign-off: every phone through N boot cycles, each judged from its own capture."""

from __future__ import annotations

import allure
import pytest

from benches.cycles import run_boot_cycle
from benches.gateway.gateway import Gateway
from benches.gateway.geo import GeoDatabase
from benches.inventory.models import Manifest, Rack
from benches.judge import judge_cycle
from benches.phone import Phone
from benches.report import attach_cycle, enforce_verdict, label_test


@pytest.mark.cycle("boot")
def test_boot(
    phone: Phone,
    cycle: int,
    gateway: Gateway,
    firmware: Manifest,
    rack_config: Rack,
    geo: GeoDatabase,
) -> None:
    label_test(firmware, "boot", phone.device)
    with allure.step(f"boot cycle {cycle} of {phone.serial}"):
        record = run_boot_cycle(phone, gateway, rack_config.bench.timings, cycle)
        result = judge_cycle(record, rack_config, firmware, geo)
        attach_cycle(result)
    enforce_verdict(result)
