"""devices.yaml texts for the inventory's tests, and how to find a line or an error in them."""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.inventory import InventoryError, load_rack

# A real (not virtual) rack using most keys; line numbers below are found by text.
RACK = """\
bench:
  name: test-bench
  location: {lat: 60.17, lon: 24.94}
devices:
  - serial: PHONE1
    model: TA-1046
    network: {ipv4: 192.168.50.11, mac: "02-00-00-AA-00-01"}
    identity:
      imei: ["352098100123452", "352098100123460"]
      iccid: "89358051000000000111"
      imsi: "244051000000001"
  - serial: PHONE2
    model: TA-1046
    adb_connect: 192.168.50.12:5555
    network: {ipv4: 192.168.50.12, ipv6: "2001:DB8::12"}
    identity:
      imei: ["352098100123478"]
"""

VIRTUAL_RACK = """\
bench:
  name: virtual
  location: {lat: 60.17, lon: 24.94}
virtual:
  resolver: 127.0.53.53
  endpoints:
    - {host: zfhmd.vnet.cn, address: 127.0.86.10, country: CN, owner: Chinanet}
devices:
  - serial: SIM1
    model: TA-1046
    adb_connect: 127.0.1.1:5555
    network: {ipv4: 127.0.2.1}
    identity:
      imei: ["352098100123452"]
"""


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, f"{needle!r} must occur once"
    return text[: text.index(needle)].count("\n") + 1


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def rack_error(text: str, name: str = "devices.yaml") -> str:
    Path(name).write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        load_rack(name)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    return message
