"""The sign-off's findings table names the IPv4 a NAT64 (or 6to4, ...) destination
stands for, beside the address and the country."""

from __future__ import annotations

from benches.report.summary.content import FINDING_FIELDS
from benches.report.summary.findings_html import findings_table


def finding(**more: object) -> dict[str, object]:
    return {
        "phone": "1",
        "device": "SI…1",
        "cycle": "boot",
        "index": 1,
        "kind": "region_violation",
        "dst_host": "api.vendor.example",
        "dst_ip": "64:ff9b::ca66:5e01",
        "dst_port": 443,
        "country": "CN",
        "owner": "Chinanet",
        "pcap": "boot-1.pcap",
        "packet": 3,
        **more,
    }


def test_the_findings_table_shows_both_addresses() -> None:
    html = "".join(
        findings_table([finding(dst_embedded_ipv4="202.102.94.1", dst_embedding="nat64")])
    )
    assert "64:ff9b::ca66:5e01:443, NAT64 of 202.102.94.1, CN, Chinanet" in html


def test_trap_an_ordinary_destination_is_shown_as_before() -> None:
    html = "".join(findings_table([finding(dst_ip="203.0.113.9")]))
    assert "(203.0.113.9:443, CN, Chinanet)" in html


def test_the_summary_keeps_the_embedded_ipv4_of_a_finding() -> None:
    assert {"dst_embedded_ipv4", "dst_embedding"} <= set(FINDING_FIELDS)
