"""A phone on an IPv6-only network reaches IPv4 servers through addresses that embed
them (NAT64, 6to4, Teredo, IPv4-mapped): each flow is placed by the IPv4 inside, the
region rule judges that country, and the flow and finding show both addresses.

The countries come from the bundled databases: 202.102.94.1 is CN, 8.8.8.8 is US.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution import geo
from benches.analysis.attribution.embedded import NAT64, SIX_TO_FOUR, TEREDO, Embedding, embedding
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.results import Analysis, Flow
from benches.inventory.models import Network, Rack
from benches.policy.evaluation import evaluate
from benches.policy.findings import REGION_VIOLATION
from benches.policy.verdict import Outcome
from tests.support.pcaps import (
    PHONE_IP,
    PHONE_MAC,
    TcpSession,
    client_hello,
    dns_lookup,
    http_post,
    leaky_post_body,
    make_policy,
    make_rack,
    tls_application_data,
    write_pcap,
)

PHONE6 = "fd00:b::21"
RESOLVER6 = "fd00:b::53"  # unique local: the bench's network
CN_V4 = "202.102.94.1"
US_V4 = "8.8.8.8"
NAT64_CN = "64:ff9b::ca66:5e01"
NAT64_US = "64:ff9b::808:808"
SIX_TO_FOUR_CN = "2002:ca66:5e01::1"
TEREDO_CN = "2001:0:808:808:8000:63bf:3599:a1fe"  # server 8.8.8.8, client 202.102.94.1
ORDINARY_DE = "2a00:1450:4001:80b::200e"  # DE / IE: both in the policy's countries


def ipv6_rack() -> Rack:
    rack = make_rack()
    phone, *others = rack.devices
    network = Network(ipv4=PHONE_IP, ipv6=PHONE6, mac=PHONE_MAC)
    return dataclasses.replace(rack, devices=(dataclasses.replace(phone, network=network), *others))


RACK = ipv6_rack()
GEO = GeoDatabase.for_rack(RACK)


def tls_to(server: str, sni: str, port: int, client: str = PHONE6, mac: str = PHONE_MAC) -> list:
    session = TcpSession(client, port, server, 443, client_mac=mac).handshake()
    session.send(client_hello(sni))
    session.send(tls_application_data(300), from_client=False)
    return session.close().packets


def lookup(name: str, address: str, qid: int) -> list:
    return dns_lookup(PHONE6, RESOLVER6, name, address, sport=30000 + qid, qid=qid, mac=PHONE_MAC)


def run(tmp_path: Path, packets: list, name: str = "v6.pcap") -> Analysis:
    return analyze([write_pcap(tmp_path / name, packets)], RACK, GEO)


def flow_to(analysis: Analysis, dst: str) -> Flow:
    (flow,) = [f for f in analysis.flows if f.dst_ip == dst]
    return flow


def test_a_nat64_flow_to_a_forbidden_country_fails_the_region_rule(tmp_path: Path) -> None:
    """The motivating bug: the phone resolved a DNS64 AAAA, connected to 64:ff9b::<IPv4>,
    and the bench said "country unknown", so the region rule never fired."""
    packets = lookup("api.far.example", NAT64_CN, 1) + tls_to(NAT64_CN, "api.far.example", 40100)
    analysis = run(tmp_path, packets)
    flow = flow_to(analysis, NAT64_CN)
    assert (flow.device, flow.country, flow.owner) == ("SIM7P0001", "CN", flow.owner)
    assert flow.embedded_ipv4 is not None
    assert (flow.embedded_ipv4.kind, flow.embedded_ipv4.address) == (NAT64, CN_V4)
    assert (flow.name, flow.name_resolved, flow.claimed_names) == ("api.far.example", True, ())
    assert flow.to_dict()["embedded_ipv4"] == {
        "address": CN_V4,
        "kind": NAT64,
        "prefix": "64:ff9b::/96",
        "server": None,
    }
    verdict = evaluate(analysis, make_policy(hosts=("far.example",)))
    assert verdict.outcome is Outcome.FAIL
    (region,) = verdict.findings
    assert (region.kind, region.country, region.dst_ip) == (REGION_VIOLATION, "CN", NAT64_CN)
    assert (region.dst_embedded_ipv4, region.dst_embedding) == (CN_V4, NAT64)
    assert f"{NAT64_CN}, NAT64 of {CN_V4}, CN" in region.message()
    assert f"NAT64 of {CN_V4}" in region.evidence


def test_a_6to4_flow_to_a_forbidden_country_fails_the_region_rule(tmp_path: Path) -> None:
    packets = lookup("six.far.example", SIX_TO_FOUR_CN, 2)
    packets += tls_to(SIX_TO_FOUR_CN, "six.far.example", 40101)
    analysis = run(tmp_path, packets)
    verdict = evaluate(analysis, make_policy(hosts=("far.example",)))
    (region,) = verdict.findings
    assert (region.kind, region.country, region.dst_embedding) == (
        REGION_VIOLATION,
        "CN",
        SIX_TO_FOUR,
    )
    assert f"6to4 via {CN_V4}" in region.message()


def test_a_teredo_flow_is_judged_by_the_client_it_reaches(tmp_path: Path) -> None:
    packets = lookup("peer.far.example", TEREDO_CN, 3)
    packets += tls_to(TEREDO_CN, "peer.far.example", 40102)
    analysis = run(tmp_path, packets)
    flow = flow_to(analysis, TEREDO_CN)
    assert flow.embedded_ipv4 is not None and flow.embedded_ipv4.kind == TEREDO
    assert (flow.embedded_ipv4.address, flow.embedded_ipv4.server) == (CN_V4, US_V4)
    verdict = evaluate(analysis, make_policy(hosts=("far.example",)))
    (region,) = verdict.findings
    assert region.country == "CN"
    assert f"Teredo client {CN_V4} (server {US_V4})" in region.evidence


def test_an_allowed_country_behind_nat64_passes(tmp_path: Path) -> None:
    """NAT64 to the US (allowed), named by the phone's DNS64 answer: nothing unknown
    is left, so the verdict is a pass where it used to be inconclusive."""
    packets = lookup("fota.vendor.example", NAT64_US, 4)
    packets += tls_to(NAT64_US, "fota.vendor.example", 40103)
    verdict = evaluate(run(tmp_path, packets), make_policy())
    assert (verdict.outcome, verdict.findings, verdict.reasons) == (Outcome.PASS, (), ())


def test_464xlat_the_phones_a_answer_names_the_nat64_address(tmp_path: Path) -> None:
    """With 464XLAT an app resolves an A record and the phone's CLAT sends to the NAT64
    address: the phone's own answer for the IPv4 ties the name to the flow."""
    packets = lookup("fota.vendor.example", US_V4, 5)
    packets += tls_to(NAT64_US, "fota.vendor.example", 40104)
    analysis = run(tmp_path, packets)
    flow = flow_to(analysis, NAT64_US)
    assert (flow.name, flow.name_source, flow.claimed_names) == ("fota.vendor.example", "dns", ())
    verdict = evaluate(analysis, make_policy())
    assert (verdict.outcome, verdict.findings) == (Outcome.PASS, ())


def test_trap_an_answer_for_another_ipv4_does_not_name_the_nat64_flow(tmp_path: Path) -> None:
    packets = lookup("fota.vendor.example", "8.8.4.4", 6)
    packets += tls_to(NAT64_US, "fota.vendor.example", 40105)
    analysis = run(tmp_path, packets)
    flow = flow_to(analysis, NAT64_US)
    assert flow.claimed_names == ("fota.vendor.example",)
    verdict = evaluate(analysis, make_policy())
    assert [f.kind for f in verdict.findings] == ["host_violation"]


def test_trap_6to4_answers_for_the_ipv4_do_not_name_the_flow(tmp_path: Path) -> None:
    """A 6to4 address is a network behind the IPv4 router, not the IPv4 host: an A
    answer for the router's IPv4 names nothing there."""
    packets = lookup("six.far.example", CN_V4, 7)
    packets += tls_to(SIX_TO_FOUR_CN, "six.far.example", 40106)
    flow = flow_to(run(tmp_path, packets), SIX_TO_FOUR_CN)
    assert flow.claimed_names == ("six.far.example",)


def test_trap_an_ordinary_ipv6_destination_is_placed_as_before(tmp_path: Path) -> None:
    packets = lookup("fota.vendor.example", ORDINARY_DE, 8)
    packets += tls_to(ORDINARY_DE, "fota.vendor.example", 40107)
    analysis = run(tmp_path, packets)
    flow = flow_to(analysis, ORDINARY_DE)
    assert (flow.country, flow.embedded_ipv4) == ("DE", None)
    assert flow.to_dict()["embedded_ipv4"] is None
    verdict = evaluate(analysis, make_policy(countries=("DE", "IE", "US")))
    assert (verdict.outcome, verdict.findings) == (Outcome.PASS, ())


def test_the_phones_ipv4_written_as_ipv4_mapped_is_the_phone(tmp_path: Path) -> None:
    """Found by address (its MAC here is one the rack does not know): judging widens."""
    mapped = f"::ffff:{PHONE_IP}"
    packets = tls_to(NAT64_CN, "api.far.example", 40108, client=mapped, mac="02:aa:00:00:00:09")
    flow = flow_to(run(tmp_path, packets), NAT64_CN)
    assert (flow.client_ip, flow.device, flow.judged) == ("::ffff:7f00:201", "SIM7P0001", True)
    assert not flow.notes  # its own address, not an "address changed"


def test_the_prefix_check_runs_once_per_destination_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty flows to two NAT64 addresses: two prefix checks, not one per flow or packet."""
    checked: list[str] = []

    def counted(address: ipaddress.IPv6Address) -> Embedding | None:
        checked.append(str(address))
        return embedding(address)

    monkeypatch.setattr(geo, "embedding", counted)
    packets = lookup("api.vendor.example", NAT64_US, 9)
    for port in range(20):
        packets += tls_to((NAT64_US, NAT64_CN)[port % 2], "api.vendor.example", 41000 + port)
    fresh = GeoDatabase.for_rack(RACK)
    analysis = analyze([write_pcap(tmp_path / "many.pcap", packets)], RACK, fresh)
    assert len([f for f in analysis.flows if f.embedded_ipv4 is not None]) == 20
    assert sorted(checked) == sorted([NAT64_US, NAT64_CN, RESOLVER6])


def test_the_phones_ipv4_written_ipv4_mapped_is_no_address_change(tmp_path: Path) -> None:
    """Found by its MAC at its own IPv4, written IPv4-mapped: not "address changed"."""
    packets = tls_to(NAT64_CN, "api.far.example", 40109, client=f"::ffff:{PHONE_IP}")
    flow = flow_to(run(tmp_path, packets), NAT64_CN)
    assert (flow.device, flow.notes) == ("SIM7P0001", ())


def test_the_serial_over_nat64_fails_twice_with_both_addresses(tmp_path: Path) -> None:
    """The issue's report: the serial was found, the country was not; now both are."""
    request = http_post("act.far.example", "/activate", leaky_post_body())
    session = TcpSession(PHONE6, 40110, NAT64_CN, 80, client_mac=PHONE_MAC).handshake()
    session.send(request)
    packets = lookup("act.far.example", NAT64_CN, 10) + session.close().packets
    verdict = evaluate(run(tmp_path, packets), make_policy(hosts=("far.example",)))
    kinds = {f.kind for f in verdict.findings}
    assert {"cleartext_identifier", REGION_VIOLATION} <= kinds
    for finding in verdict.findings:
        assert (finding.country, finding.dst_embedded_ipv4) == ("CN", CN_V4)
        assert f"{NAT64_CN}, NAT64 of {CN_V4}, CN" in finding.message()
    serial = next(f for f in verdict.findings if f.identifier == "serial")
    assert serial.kind == "cleartext_identifier"
