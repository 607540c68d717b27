"""A name counts only when the phone's own DNS answers tie it to the address.

The SNI and the Host header are what the firmware chose to write; a DNS answer
the phone received is what the network told it. A claimed name that no answer
of the phone's maps to the flow's address is shown as claimed, and the host
rule (and ``identifier_recipients``) judge the flow as unnamed.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.results import Analysis
from benches.inventory.virtual import Endpoint
from benches.policy.evaluation import evaluate
from benches.policy.findings import HOST_VIOLATION, IDENTIFIER_LEAK
from tests.support.pcaps import (
    CN_IP,
    FOTA_IP,
    PHONE_IP,
    RESOLVER_IP,
    TcpSession,
    dns_lookup,
    http_exchange,
    http_post,
    leaky_post_body,
    make_policy,
    make_rack,
    tls_exchange,
    write_pcap,
)

OTHER_FI = "127.0.44.99"  # a server in an allowed country that no one resolved
EVIL_FI = "127.0.44.66"  # evil.example's address, in an allowed country
LAPTOP_IP = "127.0.9.50"
LAPTOP_MAC = "02:00:00:00:09:50"
RACK = make_rack(
    (
        Endpoint("zfhmd.vnet.cn", CN_IP, "CN", "Chinanet"),
        Endpoint("fota.vendor.example", FOTA_IP, "FI", "Vendor Cloud Oy"),
        Endpoint("other.example", OTHER_FI, "FI", "Some Hoster Oy"),
        Endpoint("evil.example", EVIL_FI, "FI", "Evil Oy"),
    )
)
GEO = GeoDatabase.for_rack(RACK)
POLICY = make_policy()  # allowed_hosts: vendor.example


def analysis_of(tmp_path: Path, *captures: list) -> Analysis:
    paths = [write_pcap(tmp_path / f"c{n}.pcap", p) for n, p in enumerate(captures)]
    return analyze(paths, RACK, GEO)


def test_an_allowed_sni_to_an_address_no_answer_gave_is_judged_unnamed(tmp_path: Path) -> None:
    # The phone looked up the allowed name (it went to FOTA_IP), then sent that SNI elsewhere.
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "fota.vendor.example", FOTA_IP)
    packets += tls_exchange(PHONE_IP, 40000, OTHER_FI, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, packets)
    flow = next(f for f in analysis.flows if f.dst_ip == OTHER_FI)
    assert flow.claimed_names == ("fota.vendor.example",)
    assert flow.checked_names == ()
    assert (flow.name, flow.name_source, flow.name_resolved) == (
        "fota.vendor.example",
        "sni",
        False,
    )
    verdict = evaluate(analysis, POLICY)
    (finding,) = verdict.findings
    assert finding.kind == HOST_VIOLATION and finding.dst_ip == OTHER_FI
    assert finding.evidence == (
        f"tls to {OTHER_FI}:443: no name (claims fota.vendor.example, not resolved to this address)"
    )


def test_an_allowed_sni_to_the_address_dns_gave_for_another_name_fails(tmp_path: Path) -> None:
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "evil.example", EVIL_FI)
    packets += tls_exchange(PHONE_IP, 40000, EVIL_FI, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, packets)
    flow = next(f for f in analysis.flows if f.dst_ip == EVIL_FI)
    assert (flow.name, flow.claimed_names) == ("evil.example", ("fota.vendor.example",))
    (finding,) = evaluate(analysis, POLICY).findings
    assert finding.kind == HOST_VIOLATION
    assert finding.evidence == (
        f"tls to {EVIL_FI}:443: claims evil.example "
        "(and claims fota.vendor.example, not resolved to this address)"
    )


def test_a_host_header_is_a_claim_too(tmp_path: Path) -> None:
    request = b"GET /check HTTP/1.1\r\nHost: fota.vendor.example\r\n\r\n"
    packets = http_exchange(PHONE_IP, 40000, OTHER_FI, request).packets
    (finding,) = evaluate(analysis_of(tmp_path, packets), POLICY).findings
    assert finding.kind == HOST_VIOLATION
    assert "no name (claims fota.vendor.example, not resolved to this address)" in finding.evidence


def test_another_hosts_answer_does_not_name_the_phones_destination(tmp_path: Path) -> None:
    # A laptop on the same wire resolved the allowed name to OTHER_FI; the phone did not.
    packets = dns_lookup(LAPTOP_IP, RESOLVER_IP, "fota.vendor.example", OTHER_FI, mac=LAPTOP_MAC)
    packets += tls_exchange(PHONE_IP, 40000, OTHER_FI, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, packets)
    flow = next(f for f in analysis.flows if f.dst_ip == OTHER_FI and f.proto == "tcp")
    assert flow.claimed_names == ("fota.vendor.example",) and flow.dns_names == ()
    assert [f.kind for f in evaluate(analysis, POLICY).findings] == [HOST_VIOLATION]


def test_an_answer_in_another_capture_of_the_analysis_counts(tmp_path: Path) -> None:
    lookup = dns_lookup(PHONE_IP, RESOLVER_IP, "fota.vendor.example", FOTA_IP)
    connection = tls_exchange(PHONE_IP, 40000, FOTA_IP, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, lookup, connection)
    flow = next(f for f in analysis.flows if f.dst_ip == FOTA_IP)
    assert flow.claimed_names == () and flow.name_resolved
    assert evaluate(analysis, POLICY).outcome == "pass"


def test_a_cname_chain_ties_the_queried_name_to_the_final_address(tmp_path: Path) -> None:
    packets = dns_lookup(
        PHONE_IP, RESOLVER_IP, "fota.vendor.example", FOTA_IP, cname="edge.cdn.example"
    )
    packets += tls_exchange(PHONE_IP, 40000, FOTA_IP, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, packets)
    flow = next(f for f in analysis.flows if f.dst_ip == FOTA_IP)
    assert (flow.name, flow.claimed_names) == ("fota.vendor.example", ())
    assert evaluate(analysis, POLICY).outcome == "pass"


def test_an_answer_over_tcp_counts(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 41000, RESOLVER_IP, 53).handshake()
    query = bytes(DNS(id=9, rd=1, qd=[DNSQR(qname="fota.vendor.example")]))
    session.send(struct.pack("!H", len(query)) + query)
    answer = bytes(
        DNS(
            id=9, qr=1, rd=1, ra=1, qd=[DNSQR(qname="fota.vendor.example")],
            an=[DNSRR(rrname="fota.vendor.example", type="A", rdata=FOTA_IP, ttl=60)],
        )
    )  # fmt: skip
    session.send(struct.pack("!H", len(answer)) + answer, from_client=False)
    packets = session.close().packets
    packets += tls_exchange(PHONE_IP, 40000, FOTA_IP, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, packets)
    flow = next(f for f in analysis.flows if f.dst_port == 443)
    assert flow.claimed_names == () and flow.name_resolved
    assert evaluate(analysis, POLICY).outcome == "pass"


def test_a_canary_name_is_the_benchs_own_not_a_claim(tmp_path: Path) -> None:
    request = b"GET / HTTP/1.1\r\nHost: c0123456789abcdef.canary.bench.invalid\r\n\r\n"
    packets = http_exchange(PHONE_IP, 40000, OTHER_FI, request).packets
    analysis = analysis_of(tmp_path, packets)
    (flow,) = analysis.flows
    assert flow.claimed_names == ()
    # The bench's own, so not a claim; still not a host the policy allows.
    (finding,) = evaluate(analysis, POLICY).findings
    assert finding.evidence.endswith("claims c0123456789abcdef.canary.bench.invalid")


def test_a_recipient_named_only_by_its_sni_is_no_recipient(tmp_path: Path) -> None:
    # Decrypted (as the TLS-intercepting proxy would hand it over), with the recipient's SNI,
    # to an address the phone never resolved that name to.
    request = http_post("fota.vendor.example", "/register", leaky_post_body())
    packets = http_exchange(PHONE_IP, 40000, OTHER_FI, request, sport=443).packets
    analysis = analysis_of(tmp_path, packets)
    matches = [
        replace(m, cleartext=False, flow=replace(m.flow, tls=True, sni="fota.vendor.example"))
        for m in analysis.matches
    ]
    policy = make_policy(hosts=(), recipients=["fota.vendor.example"])
    verdict = evaluate(replace(analysis, matches=matches), policy)
    assert verdict.findings and {f.kind for f in verdict.findings} == {IDENTIFIER_LEAK}
