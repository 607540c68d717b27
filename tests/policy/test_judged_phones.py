"""Only the rack's phones are judged, and a phone is known by its MAC as well as its address.

A gateway capture holds whatever else crossed the wire (a laptop, the gateway
itself): those flows are counted and listed, not judged. On Ethernet a phone
whose address changed (DHCP) is still found by its MAC, judged as itself, and
the flow says its address changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.jsonrows import RowEncoder
from benches.analysis.results import Analysis
from benches.cli.analyze import render_text, result_document
from benches.policy.evaluation import evaluate
from benches.policy.findings import CLEARTEXT_IDENTIFIER, REGION_VIOLATION
from benches.redaction.masks import mask
from tests.support.pcaps import (
    CN_IP,
    IMEI,
    PHONE_IP,
    PHONE_MAC,
    RESOLVER_IP,
    SERIAL,
    TcpSession,
    clean_boot,
    dns_lookup,
    http_exchange,
    http_post,
    make_policy,
    make_rack,
    udp_packet,
    write_pcap,
)

ADDRESS_CHANGED = "address-changed"  # notes.ADDRESS_CHANGED, spelt out
RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
POLICY = make_policy(hosts=())  # countries only: FI, SE, DE, US
LAPTOP_IP = "127.0.9.50"
LAPTOP_MAC = "02:00:00:00:09:50"
MOVED_IP = "127.0.2.77"  # the phone's address after DHCP gave it another


def analysis_of(tmp_path: Path, packets: list, name: str = "gateway.pcap") -> Analysis:
    return analyze([write_pcap(tmp_path / name, packets)], RACK, GEO)


def laptop_to_china() -> list:
    request = b"GET /news HTTP/1.1\r\nHost: zfhmd.vnet.cn\r\n\r\n"
    session = TcpSession(LAPTOP_IP, 50000, CN_IP, 80, client_mac=LAPTOP_MAC).handshake()
    session.send(request)
    return session.close().packets


def moved_phone_posting_the_imei() -> list:
    packets = dns_lookup(MOVED_IP, RESOLVER_IP, "zfhmd.vnet.cn", CN_IP, mac=PHONE_MAC)
    session = TcpSession(MOVED_IP, 40001, CN_IP, 80, client_mac=PHONE_MAC).handshake()
    session.send(http_post("zfhmd.vnet.cn", "/activation", b'{"imei":"' + IMEI.encode() + b'"}'))
    return packets + session.close().packets


def test_a_laptops_flow_to_a_forbidden_country_is_counted_not_judged(tmp_path: Path) -> None:
    analysis = analysis_of(tmp_path, clean_boot() + laptop_to_china())
    laptop = [f for f in analysis.flows if f.client_ip == LAPTOP_IP]
    assert laptop and all(not f.judged and f.device is None for f in laptop)
    assert all(f.judged for f in analysis.flows if f.client_ip == PHONE_IP)
    assert analysis.not_judged() == {"flows": 1, "hosts": 1, "addresses": [LAPTOP_IP]}
    verdict = evaluate(analysis, POLICY)
    assert verdict.outcome == "pass", verdict
    document = result_document(verdict, analysis, GEO.info(), "TEST")
    assert document["not_judged"]["flows"] == 1
    assert "1 flows of 1 other hosts not judged" in render_text(document)


def test_a_capture_with_only_another_hosts_traffic_is_inconclusive(tmp_path: Path) -> None:
    packets = dns_lookup(
        LAPTOP_IP, RESOLVER_IP, "fota.vendor.example", "127.0.44.10", mac=LAPTOP_MAC
    )
    verdict = evaluate(analysis_of(tmp_path, packets), POLICY)
    assert verdict.outcome == "inconclusive"
    assert verdict.reasons == (
        "no IP traffic from a rack phone in gateway.pcap: nothing to back a pass",
    )


def test_a_phone_at_a_changed_address_is_found_by_its_mac(tmp_path: Path) -> None:
    analysis = analysis_of(tmp_path, moved_phone_posting_the_imei())
    web = next(f for f in analysis.flows if f.dst_port == 80)
    assert (web.device, web.judged, web.client_ip, web.client_mac) == (
        SERIAL, True, MOVED_IP, PHONE_MAC
    )  # fmt: skip
    (note,) = [n for n in web.notes if n.kind == ADDRESS_CHANGED]
    assert note.detail == (
        f"address changed: the phone's MAC {mask(PHONE_MAC)} at {MOVED_IP}, "
        f"devices.yaml gives it {PHONE_IP}"
    )
    # Its own DNS answer, received at the new address, names the destination.
    assert (web.name, web.name_resolved) == ("zfhmd.vnet.cn", True)
    verdict = evaluate(analysis, POLICY)
    assert verdict.outcome == "fail"
    kinds = {(f.kind, f.identifier, f.device) for f in verdict.findings}
    assert kinds == {
        (CLEARTEXT_IDENTIFIER, "imei", mask(SERIAL)),
        (REGION_VIOLATION, None, mask(SERIAL)),
    }
    text = render_text(result_document(verdict, analysis, GEO.info(), "TEST"))
    assert "phones at an address devices.yaml does not give them:" in text
    # The MAC is the phone's Wi-Fi MAC, an identifier: masked wherever people read it.
    assert PHONE_MAC not in text
    assert f"address changed: the phone's MAC 02:0…:01 at {MOVED_IP}" in text
    document = result_document(verdict, analysis, GEO.info(), "TEST")
    flows = json.loads(json.dumps(list(document["flows"])))
    assert any(n["kind"] == ADDRESS_CHANGED for f in flows for n in f["notes"])


def test_a_moved_phone_without_identifiers_is_still_judged(tmp_path: Path) -> None:
    request = b"GET /ping HTTP/1.1\r\nHost: zfhmd.vnet.cn\r\n\r\n"
    session = TcpSession(MOVED_IP, 40001, CN_IP, 80, client_mac=PHONE_MAC).handshake()
    session.send(request)
    verdict = evaluate(analysis_of(tmp_path, session.close().packets), POLICY)
    (finding,) = verdict.findings
    assert (finding.kind, finding.device) == (REGION_VIOLATION, mask(SERIAL))


def test_a_rack_identifier_in_another_hosts_flow_still_fails(tmp_path: Path) -> None:
    session = TcpSession(LAPTOP_IP, 50000, CN_IP, 80, client_mac=LAPTOP_MAC).handshake()
    session.send(
        http_post("zfhmd.vnet.cn", "/up", b"imei=" + IMEI.encode() + b"&lat=60.1699,24.9384")
    )
    packets = clean_boot() + session.close().packets
    verdict = evaluate(analysis_of(tmp_path, packets), POLICY)
    # The phone's IMEI is judged wherever it shows up; the bench's location in a laptop's
    # traffic is not a phone's leak, and the laptop's destination is not judged.
    assert [(f.kind, f.identifier, f.device) for f in verdict.findings] == [
        (CLEARTEXT_IDENTIFIER, "imei", mask(SERIAL))
    ]


def test_a_connection_opened_to_the_phone_is_the_phones(tmp_path: Path) -> None:
    request = b"GET / HTTP/1.1\r\nHost: phone\r\n\r\n"
    packets = clean_boot() + http_exchange(CN_IP, 50000, PHONE_IP, request, sport=8080).packets
    analysis = analysis_of(tmp_path, packets)
    inbound = next(f for f in analysis.flows if f.client_ip == CN_IP)
    assert (inbound.device, inbound.judged) == (SERIAL, True)
    assert analysis.not_judged()["flows"] == 0


def test_the_mac_tells_the_client_when_the_address_cannot(tmp_path: Path) -> None:
    # UDP from a low port to a higher one, neither a service port: without the MAC the
    # higher port's side would be taken for the client.
    packet = udp_packet(MOVED_IP, 4000, CN_IP, 9000, b"hello", src_mac=PHONE_MAC)
    (flow,) = analysis_of(tmp_path, [packet]).flows
    assert (flow.client_ip, flow.device) == (MOVED_IP, SERIAL)


def test_every_mac_in_the_json_is_masked_a_laptops_too(tmp_path: Path) -> None:
    analysis = analysis_of(tmp_path, laptop_to_china() + moved_phone_posting_the_imei())
    document = json.dumps(analysis.to_dict())
    rows = RowEncoder(json.dumps, analysis.scrubber())
    texts = document + "".join(rows.flow(flow) for flow in analysis.flows)
    assert LAPTOP_MAC not in texts and PHONE_MAC not in texts
    shown = {flow["client_mac"] for flow in analysis.to_dict()["flows"]}
    assert shown >= {mask(LAPTOP_MAC), mask(PHONE_MAC)}
