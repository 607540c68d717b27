"""Findings and fail-closed verdicts, from crafted captures through the real analyzer."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.protocols.notes import BUDGET_SPENT, DECODER_RESYNC, QUIC_UNREAD, FlowNote
from benches.analysis.results import Analysis, CaptureStats
from benches.capture.health import CaptureHealth
from benches.inventory.virtual import Endpoint
from benches.policy.evaluation import evaluate, suffix_match
from benches.policy.findings import (
    CLEARTEXT_IDENTIFIER,
    HOST_VIOLATION,
    IDENTIFIER_LEAK,
    REGION_VIOLATION,
    Finding,
)
from benches.redaction.masks import identifier_label, mask
from tests.support.pcaps import (
    CN_IP,
    FOTA_IP,
    PHONE_IP,
    RESOLVER_IP,
    SERIAL,
    TcpSession,
    clean_boot,
    client_hello,
    dns_lookup,
    dns_query,
    leaky_boot,
    make_policy,
    make_rack,
    tls_application_data,
    tls_exchange,
    udp_packet,
    write_pcap,
)

RU_IP = "127.0.77.10"
RACK = make_rack(
    (
        Endpoint("zfhmd.vnet.cn", CN_IP, "CN", "Chinanet"),
        Endpoint("fota.vendor.example", FOTA_IP, "FI", "Vendor Cloud Oy"),
        Endpoint("metrics.vendor.example", RU_IP, "RU", "Some Hoster LLC"),
    )
)
GEO = GeoDatabase.for_rack(RACK)
POLICY = make_policy()
CANARY = "canary-1.bench.example"


def analysis_of(tmp_path: Path, packets: list, name: str = "boot-1.pcap") -> Analysis:
    return analyze([write_pcap(tmp_path / name, packets)], RACK, GEO)


def canary() -> list:
    return [dns_query(PHONE_IP, RESOLVER_IP, CANARY, sport=34000)]


# --- the incident --------------------------------------------------------------


def test_leaky_activation_fails_with_cleartext_identifiers(tmp_path: Path) -> None:
    verdict = evaluate(analysis_of(tmp_path, canary() + leaky_boot()), POLICY)
    assert verdict.outcome == "fail"
    cleartext = [f for f in verdict.findings if f.kind == CLEARTEXT_IDENTIFIER]
    assert {f.identifier for f in cleartext} == {"imei", "iccid", "serial", "location"}
    for finding in cleartext:
        assert (finding.dst_host, finding.dst_ip) == ("zfhmd.vnet.cn", CN_IP)
        assert (finding.country, finding.owner) == ("CN", "Chinanet")
        assert finding.device == mask(SERIAL)  # "SI…1": findings are for people
        assert finding.encoding == "plain"
        assert finding.packet == 7  # canary, DNS query, answer, handshake x3, POST
        assert finding.pcap.endswith("boot-1.pcap")
        assert "…" in (finding.value or "")
    imei = next(f for f in cleartext if f.identifier == "imei")
    assert imei.message() == (
        "IMEI 3520…452 in cleartext to zfhmd.vnet.cn (127.0.86.10, CN, Chinanet), "
        "packet 7 of boot-1.pcap"
    )
    assert '"imei":"3520…452"' in imei.evidence
    kinds = {f.kind for f in verdict.findings}
    assert kinds == {CLEARTEXT_IDENTIFIER, REGION_VIOLATION, HOST_VIOLATION}


def test_repeated_identifier_in_one_flow_is_one_finding(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    session.send(b"imei=352098100123452&again=352098100123452")
    session.send(b"imei=352098100123452")
    verdict = evaluate(
        analysis_of(tmp_path, session.packets), make_policy(countries=["CN"], hosts=())
    )
    (finding,) = verdict.findings
    assert (finding.identifier, finding.occurrences, finding.packet) == ("imei", 3, 4)


def test_a_finding_names_the_form_and_encoding_that_revealed_it(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    imei14 = base64.b64encode(b"35209810012345")  # the IMEI without its check digit
    iccid_bcd = bytes.fromhex("98530815000000001011").hex().encode()  # as the SIM stores it
    session.send(b"id=" + imei14 + b"&sim=" + iccid_bcd + b"&at=60.1699,24.9384")
    verdict = evaluate(
        analysis_of(tmp_path, session.packets), make_policy(countries=["CN"], hosts=())
    )
    written = {f.identifier: (f.form, f.encoding) for f in verdict.findings}
    assert written == {
        "imei": ("imei-14", "base64"),
        "iccid": ("iccid-bcd", "hex"),
        "location": ("decimal", "plain"),
    }
    messages = {f.identifier: f.message() for f in verdict.findings}
    assert messages["imei"].startswith("IMEI 3520…452 (imei-14, base64) in cleartext to ")
    assert messages["iccid"].startswith("ICCID 8935…111 (iccid-bcd, hex) in cleartext to ")
    assert messages["location"].startswith("location 60…9,24…4 in cleartext to ")  # as written
    imei = next(f for f in verdict.findings if f.identifier == "imei")
    assert (imei.to_dict()["form"], imei.to_dict()["encoding"]) == ("imei-14", "base64")


def test_an_identifier_sent_as_written_needs_no_form_in_its_message(tmp_path: Path) -> None:
    verdict = evaluate(analysis_of(tmp_path, leaky_boot()), POLICY)
    cleartext = [f for f in verdict.findings if f.kind == CLEARTEXT_IDENTIFIER]
    forms = {f.identifier: f.form for f in cleartext}
    assert forms == {"imei": "imei-15", "iccid": "iccid", "serial": "serial", "location": "decimal"}
    assert all("(" not in f.message().split(" in cleartext to ")[0] for f in cleartext)


def test_findings_made_without_a_form_still_read_as_before() -> None:
    finding = Finding(
        kind=CLEARTEXT_IDENTIFIER, device="SIM7P0001", identifier="imei", value="3520…452",
        encoding="base64", dst_ip=CN_IP, dst_port=80, dst_host=None, country="CN",
        owner="Chinanet", protocol="http", packet=4, pcap="boot-1.pcap", evidence="",
    )  # fmt: skip
    assert finding.form is None
    assert finding.message().startswith("IMEI 3520…452 in cleartext to ")
    assert finding.to_dict()["form"] is None


def test_a_track_of_coordinates_is_one_location_finding(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    session.send(b'[{"lat":60.1699,"lon":24.9384},{"lat":60.1702,"lon":24.9391}]')
    verdict = evaluate(
        analysis_of(tmp_path, session.packets), make_policy(countries=["CN"], hosts=())
    )
    (finding,) = verdict.findings
    assert (finding.identifier, finding.occurrences, finding.value) == ("location", 2, "60…9,24…4")


def test_fixed_build_passes(tmp_path: Path) -> None:
    analysis = analysis_of(tmp_path, canary() + clean_boot() + canary())
    verdict = evaluate(analysis, POLICY, expected_canaries=[CANARY])
    assert (verdict.outcome, verdict.findings, verdict.reasons) == ("pass", (), ())


# --- destinations --------------------------------------------------------------


def test_region_violation(tmp_path: Path) -> None:
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "metrics.vendor.example", RU_IP)
    packets += tls_exchange(PHONE_IP, 40000, RU_IP, "metrics.vendor.example").packets
    verdict = evaluate(analysis_of(tmp_path, packets), POLICY)
    (finding,) = verdict.findings
    assert finding.kind == REGION_VIOLATION
    assert (finding.country, finding.owner, finding.dst_host) == (
        "RU",
        "Some Hoster LLC",
        "metrics.vendor.example",
    )
    assert finding.message() == (
        "traffic to metrics.vendor.example (127.0.77.10, RU, Some Hoster LLC), "
        "a country the policy does not allow, packet 3 of boot-1.pcap"
    )


def test_host_violation_for_a_name_outside_allowed_hosts(tmp_path: Path) -> None:
    packets = tls_exchange(PHONE_IP, 40000, FOTA_IP, "tracker.adnet.example").packets
    verdict = evaluate(analysis_of(tmp_path, packets), POLICY)
    (finding,) = verdict.findings
    assert (finding.kind, finding.dst_host, finding.country) == (
        HOST_VIOLATION,
        "tracker.adnet.example",
        "FI",
    )


def test_host_violation_for_a_destination_without_a_name(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, FOTA_IP, 5228).handshake()
    session.send(b"\x00\x01opaque")
    verdict = evaluate(analysis_of(tmp_path, session.packets), POLICY)
    (finding,) = verdict.findings
    assert (finding.kind, finding.dst_host) == (HOST_VIOLATION, None)
    assert "127.0.44.10 (no name, FI, Vendor Cloud Oy)" in finding.message()


def test_sni_outside_allowed_hosts_fails_even_when_dns_named_an_allowed_host(
    tmp_path: Path,
) -> None:
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "fota.vendor.example", FOTA_IP)
    packets += tls_exchange(PHONE_IP, 40000, FOTA_IP, "tracker.adnet.example").packets
    verdict = evaluate(analysis_of(tmp_path, packets), POLICY)
    assert [f.kind for f in verdict.findings] == [HOST_VIOLATION]
    assert "tracker.adnet.example" in verdict.findings[0].evidence


def test_no_allowed_hosts_means_countries_only(tmp_path: Path) -> None:
    packets = tls_exchange(PHONE_IP, 40000, FOTA_IP, "tracker.adnet.example").packets
    verdict = evaluate(analysis_of(tmp_path, packets), make_policy(hosts=()))
    assert verdict.outcome == "pass"


def test_the_bench_network_is_never_a_violation(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, "192.168.1.1", 8080).handshake()
    session.send(b"GET /generate_204 HTTP/1.1\r\nHost: gateway.lan\r\n\r\n")
    packets = canary() + session.packets
    verdict = evaluate(analysis_of(tmp_path, packets), make_policy(countries=()))
    assert verdict.outcome == "pass"


def test_unknown_country_is_inconclusive(tmp_path: Path) -> None:
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "api.vendor.example", "198.51.100.7")
    packets += tls_exchange(PHONE_IP, 40000, "198.51.100.7", "api.vendor.example").packets
    verdict = evaluate(analysis_of(tmp_path, packets), POLICY)
    assert verdict.outcome == "inconclusive"
    assert verdict.reasons == (
        "country of api.vendor.example (198.51.100.7) unknown to the geo database",
    )


# --- identifiers and recipients ---------------------------------------------


def _decrypted(analysis: Analysis, **flow_changes: object) -> Analysis:
    """As a TLS-intercepting proxy would hand it over: plaintext of a TLS session."""
    matches = [
        replace(m, cleartext=False, flow=replace(m.flow, **flow_changes))  # type: ignore[arg-type]
        for m in analysis.matches
    ]
    return replace(analysis, matches=matches)


def test_identifier_leak_to_a_host_that_may_not_receive_identifiers(tmp_path: Path) -> None:
    analysis = _decrypted(analysis_of(tmp_path, leaky_boot()), tls=True)
    policy = make_policy(countries=["CN"], hosts=())
    verdict = evaluate(analysis, policy)
    assert {f.kind for f in verdict.findings} == {IDENTIFIER_LEAK}
    imei = next(f for f in verdict.findings if f.identifier == "imei")
    assert imei.message() == (
        "IMEI 3520…452 sent inside TLS to zfhmd.vnet.cn (127.0.86.10, CN, Chinanet), "
        "not an identifier recipient, packet 6 of boot-1.pcap"
    )


def test_identifier_recipient_over_tls_is_allowed(tmp_path: Path) -> None:
    analysis = _decrypted(analysis_of(tmp_path, leaky_boot()), tls=True)
    policy = make_policy(countries=["CN"], hosts=(), recipients=["vnet.cn"])
    assert evaluate(analysis, policy).outcome == "pass"


def test_identifier_recipient_must_use_tls(tmp_path: Path) -> None:
    analysis = _decrypted(analysis_of(tmp_path, leaky_boot()), tls=False)
    policy = make_policy(countries=["CN"], hosts=(), recipients=["vnet.cn"])
    assert {f.kind for f in evaluate(analysis, policy).findings} == {IDENTIFIER_LEAK}


def test_identifier_recipient_must_match_every_name_the_flow_claims(tmp_path: Path) -> None:
    analysis = _decrypted(analysis_of(tmp_path, leaky_boot()), tls=True, sni="evil.example")
    policy = make_policy(countries=["CN"], hosts=(), recipients=["vnet.cn"])
    assert {f.kind for f in evaluate(analysis, policy).findings} == {IDENTIFIER_LEAK}


def test_cleartext_to_a_recipient_still_fails(tmp_path: Path) -> None:
    policy = make_policy(countries=["CN"], hosts=(), recipients=["zfhmd.vnet.cn"])
    verdict = evaluate(analysis_of(tmp_path, leaky_boot()), policy)
    assert {f.kind for f in verdict.findings} == {CLEARTEXT_IDENTIFIER}


# --- fail closed ---------------------------------------------------------------


def test_missing_canary_is_inconclusive(tmp_path: Path) -> None:
    analysis = analysis_of(tmp_path, canary() + clean_boot())
    verdict = evaluate(analysis, POLICY, expected_canaries=[CANARY, "canary-2.bench.example"])
    assert verdict.outcome == "inconclusive"
    assert verdict.reasons == ("canary lookup canary-2.bench.example not seen in the capture",)


def test_canary_names_compare_without_case_or_trailing_dot(tmp_path: Path) -> None:
    analysis = analysis_of(tmp_path, canary() + clean_boot())
    assert (
        evaluate(analysis, POLICY, expected_canaries=["Canary-1.Bench.Example."]).outcome == "pass"
    )


@pytest.mark.parametrize(
    ("health", "reason"),
    [
        (CaptureHealth(packets=20, kernel_drops=3, died=False), "kernel dropped 3 packets"),
        (
            CaptureHealth(packets=20, kernel_drops=0, died=True, error="interface went down"),
            "capture died mid-window (interface went down)",
        ),
    ],
)
def test_capture_problems_are_inconclusive(
    tmp_path: Path, health: CaptureHealth, reason: str
) -> None:
    verdict = evaluate(analysis_of(tmp_path, clean_boot()), POLICY, health=[health])
    assert (verdict.outcome, verdict.reasons) == ("inconclusive", (reason,))


def test_healthy_capture_passes(tmp_path: Path) -> None:
    health = [CaptureHealth(packets=20, kernel_drops=0, died=False)]
    assert evaluate(analysis_of(tmp_path, clean_boot()), POLICY, health=health).outcome == "pass"


def test_findings_beat_inconclusive(tmp_path: Path) -> None:
    health = [CaptureHealth(packets=20, kernel_drops=3, died=False)]
    verdict = evaluate(
        analysis_of(tmp_path, leaky_boot()), POLICY, health=health, expected_canaries=[CANARY]
    )
    assert verdict.outcome == "fail"
    assert len(verdict.reasons) == 2  # still reported


def test_unreadable_packets_are_inconclusive(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "boot-1.pcap", clean_boot())
    path.write_bytes(path.read_bytes() + b"\x00" * 9)  # a record header cut short
    verdict = evaluate(analyze([path], RACK, GEO), POLICY)
    assert (verdict.outcome, verdict.reasons) == (
        "inconclusive",
        ("1 unreadable packets in boot-1.pcap",),
    )


def test_empty_capture_is_inconclusive(tmp_path: Path) -> None:
    verdict = evaluate(analysis_of(tmp_path, []), POLICY)
    assert (verdict.outcome, verdict.reasons) == (
        "inconclusive",
        ("no packets in boot-1.pcap: nothing to back a pass",),
    )


def test_tcp_gap_is_inconclusive(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, FOTA_IP, 443, mss=100).handshake()
    segments = session.send(client_hello("fota.vendor.example") + tls_application_data(400))
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "fota.vendor.example", FOTA_IP)
    packets += [p for p in session.packets if p is not segments[2]]
    verdict = evaluate(analysis_of(tmp_path, packets), POLICY)
    assert verdict.outcome == "inconclusive"
    assert "has 1 gap(s)" in verdict.reasons[0]


# --- helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vendor.example", True),
        ("fota.vendor.example", True),
        ("FOTA.Vendor.Example.", True),
        ("evilvendor.example", False),
        ("vendor.example.evil.cn", False),
        ("example", False),
    ],
)
def test_suffix_match(name: str, expected: bool) -> None:
    assert suffix_match(name, ["vendor.example"]) is expected


def test_mask_and_labels() -> None:
    assert mask("352098100123452") == "3520…452"
    assert mask("89358051000000000111") == "8935…111"
    assert mask("SIM7P0001") == "SI…1"
    assert mask("abcd") == "a…"
    assert mask("ab") == "…"
    assert [identifier_label(k) for k in ("imei", "iccid", "imsi", "serial", "wifi_mac")] == [
        "IMEI",
        "ICCID",
        "IMSI",
        "serial",
        "Wi-Fi MAC",
    ]
    assert identifier_label("location") == "location"


def test_verdict_to_dict_is_masked(tmp_path: Path) -> None:
    document = evaluate(analysis_of(tmp_path, leaky_boot()), POLICY).to_dict()
    assert document["verdict"] == "fail"
    finding = document["findings"][0]
    for key in ("kind", "device", "identifier", "encoding", "dst_ip", "dst_host", "country"):
        assert key in finding
    assert {"owner", "packet", "message", "evidence", "pcap"} <= finding.keys()
    assert finding["device"] == "SI…1"  # the phone's label, not its serial
    assert "352098100123452" not in str(document) and SERIAL not in str(document)


def test_disagreeing_geo_signals_the_stricter_one_rules(tmp_path: Path) -> None:
    """One signal says FI (allowed), the registry says CN (not): a region violation."""
    packets = tls_exchange(PHONE_IP, 40000, FOTA_IP, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, packets)
    flow = replace(analysis.flows[0], countries={"geoip2fast": "FI", "iptocc": "CN"})
    split = replace(analysis, flows=[flow])
    regions = [f for f in evaluate(split, POLICY).findings if f.kind == REGION_VIOLATION]
    assert [f.country for f in regions] == ["CN"]
    assert "geo signals disagree: FI (geoip2fast) / CN (iptocc)" in regions[0].evidence
    agreed = replace(analysis, flows=[replace(flow, countries={"a": "FI", "b": "FI"})])
    assert not [f for f in evaluate(agreed, POLICY).findings if f.kind == REGION_VIOLATION]


def test_flows_that_share_a_country_are_still_judged_by_their_own_signals(
    tmp_path: Path,
) -> None:
    """The ruling country is worked out once per set of signals: two flows both placed
    in FI, one of them with a registry saying CN, are judged apart."""
    packets = tls_exchange(PHONE_IP, 40000, FOTA_IP, "fota.vendor.example").packets
    analysis = analysis_of(tmp_path, packets)
    agreed = replace(analysis.flows[0], countries={"geoip2fast": "FI", "iptocc": "FI"})
    split = replace(agreed, id=1, dst_ip="198.51.100.7", countries={"geoip2fast": "FI",
                                                                     "iptocc": "CN"})  # fmt: skip
    both = replace(analysis, flows=[agreed, split])
    regions = [f for f in evaluate(both, POLICY).findings if f.kind == REGION_VIOLATION]
    assert [(f.country, f.dst_ip) for f in regions] == [("CN", "198.51.100.7")]


# --- what the readers could not read -------------------------------------------


def _noted(analysis: Analysis, *notes: FlowNote) -> Analysis:
    flows = [replace(analysis.flows[0], notes=notes), *analysis.flows[1:]]
    return replace(analysis, flows=flows)


def test_a_spent_budget_makes_a_clean_capture_inconclusive(tmp_path: Path) -> None:
    clean = analysis_of(tmp_path, canary() + clean_boot() + canary())
    spent = FlowNote(BUDGET_SPENT, "gzip body cut at the 64 MiB decode budget", 7)
    verdict = evaluate(_noted(clean, spent), POLICY, expected_canaries=[CANARY])
    assert verdict.outcome == "inconclusive"
    assert len(verdict.reasons) == 1 and "64 MiB decode budget" in verdict.reasons[0]


def test_an_unread_quic_version_blinds_only_a_policy_that_names_hosts(tmp_path: Path) -> None:
    clean = analysis_of(tmp_path, canary() + clean_boot() + canary())
    unread = _noted(clean, FlowNote(QUIC_UNREAD, "QUIC version 0xff00001d not read", 3))
    named = evaluate(unread, POLICY, expected_canaries=[CANARY])
    countries_only = evaluate(unread, replace(POLICY, allowed_hosts=()), expected_canaries=[CANARY])
    assert POLICY.allowed_hosts and named.outcome == "inconclusive"
    assert countries_only.outcome == "pass"


def test_a_quic_version_the_bench_cannot_read_makes_a_policy_with_hosts_inconclusive(
    tmp_path: Path,
) -> None:
    """Through the real analyzer: a phone opens a QUIC connection in a version whose
    Initials the bench cannot read (here draft-21), so the name it asked for is unknown."""
    unread = b"\xc3\xff\x00\x00\x15\x08" + bytes(range(8)) + b"\x00" + bytes(1250)
    quic = udp_packet(PHONE_IP, 50500, FOTA_IP, 443, unread)
    capture = canary() + clean_boot() + [quic] + canary()
    analysis = analysis_of(tmp_path, capture)
    named = evaluate(analysis, POLICY, expected_canaries=[CANARY])
    countries_only = evaluate(
        analysis, replace(POLICY, allowed_hosts=()), expected_canaries=[CANARY]
    )
    assert named.outcome == "inconclusive"
    assert any("QUIC version 0xff000015 not read" in reason for reason in named.reasons)
    assert countries_only.outcome == "pass"


def test_a_resynchronised_decoder_is_said_but_does_not_blind(tmp_path: Path) -> None:
    clean = analysis_of(tmp_path, canary() + clean_boot() + canary())
    resync = _noted(clean, FlowNote(DECODER_RESYNC, "HTTP read on after 3 junk bytes", 4))
    assert evaluate(resync, POLICY, expected_canaries=[CANARY]).outcome == "pass"
    assert resync.flows[0].to_dict()["notes"] == [
        {"kind": DECODER_RESYNC, "detail": "HTTP read on after 3 junk bytes", "frame": 4}
    ]


def test_frames_not_read_as_ip_and_ip_less_captures_are_inconclusive() -> None:
    unknown = {"ethertype 0x88b5": 3, "PPP protocol 0x002b": 1}
    arp_only = CaptureStats("arp.pcap", 4, 0, 0, 0, 4, ip_packets=0)
    tunnels = CaptureStats("t.pcap", 9, 0, 0, 0, 0, unknown_frames=unknown, ip_packets=5)
    uncounted = CaptureStats("old.pcap", 9, 0, 0, 0, 2)  # ip_packets not counted: no claim
    verdict = evaluate(Analysis(pcaps=(), captures=[arp_only, tunnels, uncounted]), POLICY)
    assert (verdict.outcome, verdict.reasons) == (
        "inconclusive",
        (
            "no IP packets in arp.pcap (4 link-control frames): nothing to back a pass",
            "1 frames of PPP protocol 0x002b in t.pcap could not be read as IP",
            "3 frames of ethertype 0x88b5 in t.pcap could not be read as IP",
            # No flow at all, so none of a rack phone's (tests/policy/test_judged_phones.py).
            "no IP traffic from a rack phone in t.pcap: nothing to back a pass",
            "no IP traffic from a rack phone in old.pcap: nothing to back a pass",
        ),
    )
    assert tunnels.to_dict()["unknown_frames"] == dict(sorted(unknown.items()))
