"""The Allure flows table names the IPv4 a NAT64 destination stands for."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from benches.analysis.attribution.embedded import NAT64, Embedding
from benches.analysis.results import Analysis, Flow
from benches.cycles import CycleRecord
from benches.policy.judge import CycleResult
from benches.policy.verdict import Verdict
from benches.report.allure.attachments import flows_table

PCAP = "/reports/pcaps/B/SIM7P0001-boot-1.pcap"


def flow(dst_ip: str, embedded: Embedding | None) -> Flow:
    plain = Flow(0, PCAP, "tcp", "tls", "fd00:b::21", 40000, dst_ip, 443, "SIM7P0001",
                 "api.vendor.example", "dns", True, ("api.vendor.example",), None, None, True,
                 "CN", "Chinanet", "geoip2fast", 5, 500, 100, 100, 30, 40, 0.0, 1.0, 0)  # fmt: skip
    return dataclasses.replace(plain, embedded_ipv4=embedded)


def table(*flows: Flow) -> str:
    record = CycleRecord("SIM7P0001", "boot", 1, Path(PCAP))
    return flows_table(CycleResult(record, Verdict("fail", (), ()), Analysis((PCAP,), list(flows))))


def test_a_nat64_destination_shows_its_ipv4_and_country() -> None:
    nat64 = Embedding(NAT64, "202.102.94.1", "64:ff9b::/96")
    html = table(flow("64:ff9b::ca66:5e01", nat64))
    assert "64:ff9b::ca66:5e01:443 (NAT64 of 202.102.94.1)" in html
    assert "<td>CN</td>" in html


def test_trap_an_ordinary_destination_is_shown_as_before() -> None:
    html = table(flow("203.0.113.9", None))
    assert "<td>203.0.113.9:443</td>" in html
