"""The many-phone virtual racks the parallel sign-off is measured and tested on."""

from __future__ import annotations

from benches.inventory import load_rack
from tests.support.many_phones import RACK24, many_phones_text


def test_the_24_phone_rack_is_what_the_generator_writes() -> None:
    assert RACK24.read_text() == many_phones_text(24)  # python -m tests.support.many_phones
    rack = load_rack(RACK24)
    assert len(rack.devices) == 24 and rack.virtual is not None
    assert rack.bench.relays == ()
    assert all(d.console is None and d.power is None for d in rack.devices)
    assert len({d.network.ipv4 for d in rack.devices}) == 24
