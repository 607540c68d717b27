"""``bench analyze`` on a phone's IPv6 flows to addresses that embed an IPv4 one: NAT64
and 6to4 to a forbidden country fail the region rule (exit 1), the country named and
both addresses shown; an ordinary IPv6 destination is placed as before.

Countries from the bundled databases: 202.102.94.1 is CN in both signals.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.analysis.test_embedded_ipv4 import (
    CN_V4,
    NAT64_CN,
    ORDINARY_DE,
    PHONE6,
    SIX_TO_FOUR_CN,
    lookup,
    tls_to,
)
from tests.support.analyzecli import DEVICES, FIRMWARE, bench
from tests.support.pcaps import write_pcap


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    devices, firmware = tmp_path / "devices.yaml", tmp_path / "firmware.yaml"
    network = 'network: {ipv4: 127.0.2.1, mac: "02:00:00:00:02:01"}'
    assert network in DEVICES
    with_ipv6 = f'network: {{ipv4: 127.0.2.1, ipv6: "{PHONE6}", mac: "02:00:00:00:02:01"}}'
    devices.write_text(DEVICES.replace(network, with_ipv6))
    firmware.write_text(FIRMWARE)
    return devices, firmware


def analyze(inputs: tuple[Path, Path], capture: Path, *extra: str):  # type: ignore[no-untyped-def]
    devices, firmware = inputs
    return bench("analyze", capture, "--devices", devices, "--firmware", firmware, *extra)


@pytest.mark.parametrize(
    ("address", "said"),
    [(NAT64_CN, f"NAT64 of {CN_V4}"), (SIX_TO_FOUR_CN, f"6to4 via {CN_V4}")],
)
def test_an_embedded_forbidden_country_fails_with_both_addresses(
    tmp_path: Path, inputs: tuple[Path, Path], address: str, said: str
) -> None:
    packets = lookup("api.vendor.example", address, 1)
    packets += tls_to(address, "api.vendor.example", 40200)
    capture = write_pcap(tmp_path / "v6.pcap", packets)
    result = analyze(inputs, capture, "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    (region,) = document["findings"]
    assert region == {
        **region,
        "kind": "region_violation",
        "dst_ip": address,
        "dst_host": "api.vendor.example",
        "country": "CN",
        "dst_embedded_ipv4": CN_V4,
    }
    assert f"{address}, {said}, CN" in region["message"]
    flow = next(f for f in document["flows"] if f["dst_ip"] == address)
    assert flow["country"] == "CN" and flow["embedded_ipv4"]["address"] == CN_V4
    text = analyze(inputs, capture)
    assert text.returncode == 1
    assert f"{address}, {said}, CN" in text.stdout
    assert f"{address}:443 ({said})" in text.stdout  # the flow table


def test_trap_an_ordinary_ipv6_destination_passes_as_before(
    tmp_path: Path, inputs: tuple[Path, Path]
) -> None:
    packets = lookup("fota.vendor.example", ORDINARY_DE, 2)
    packets += tls_to(ORDINARY_DE, "fota.vendor.example", 40201)
    result = analyze(inputs, write_pcap(tmp_path / "v6.pcap", packets), "--json")
    assert result.returncode == 0, result.stdout
    document = json.loads(result.stdout)
    flow = next(f for f in document["flows"] if f["dst_ip"] == ORDINARY_DE)
    assert (flow["country"], flow["embedded_ipv4"]) == ("DE", None)
