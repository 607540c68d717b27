"""Captures in, flows, names, places and identifier matches out (crafted pcap files)."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import LOCAL, GeoDatabase, Place
from benches.analysis.detection.identifiers import (
    find_identifiers,
    find_locations,
    identifier_patterns,
)
from benches.analysis.pcap.files import CaptureError, read_packets
from benches.analysis.results import Analysis
from benches.inventory.models import Location
from tests.support.pcaps import (
    CN_IP,
    FOTA_IP,
    ICCID,
    IMEI,
    IMSI,
    OTHER_IMEI,
    PHONE_IP,
    RESOLVER_IP,
    SERIAL,
    TcpSession,
    append_raw_record,
    client_hello,
    dns_lookup,
    dns_query,
    http_exchange,
    http_post,
    leaky_boot,
    make_rack,
    tls_application_data,
    tls_exchange,
    udp_packet,
    write_pcap,
    write_pcapng,
)
from tests.support.streamrec import record_packets

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)


def run(tmp_path: Path, packets: list, name: str = "boot-1.pcap") -> Analysis:
    return analyze([write_pcap(tmp_path / name, packets)], RACK, GEO)


def kinds(analysis: Analysis) -> set[str]:
    return {m.identifier for m in analysis.matches}


# --- reading captures --------------------------------------------------------


def test_pcap_frames_are_numbered_from_one(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "a.pcap", leaky_boot())
    with read_packets(path) as capture:
        frames = [(n, t) for n, t, _ in capture]
    assert [n for n, _ in frames] == list(range(1, len(leaky_boot()) + 1))
    assert frames[0][1] == pytest.approx(1_700_000_000.0)
    assert capture.stats.unreadable == 0


def test_pcapng_reads_like_pcap(tmp_path: Path) -> None:
    classic = analyze([write_pcap(tmp_path / "a.pcap", leaky_boot())], RACK, GEO)
    ng = analyze([write_pcapng(tmp_path / "a.pcapng", leaky_boot())], RACK, GEO)
    assert [(m.identifier, m.packet) for m in ng.matches] == [
        (m.identifier, m.packet) for m in classic.matches
    ]
    assert [f.name for f in ng.flows] == [f.name for f in classic.flows]
    assert ng.captures[0].packets == classic.captures[0].packets


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No such file"),
        (b"", "empty file"),
        (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "truncated pcap header"),
        (b"hello, this is not a capture at all\n", "not a pcap or pcapng"),
        (b"\x0a\x0d\x0d\x0a\x00\x00", "unreadable pcapng header"),
    ],
)
def test_unusable_files_are_one_line_errors(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "capture.pcap"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CaptureError) as error:
        read_packets(path)
    message = str(error.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


ARP_FRAME = Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP(
    hwsrc="02:00:00:00:00:01", psrc="127.0.2.1", pdst="127.0.0.1"
)


def test_garbage_packets_are_counted_not_fatal(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "g.pcap", leaky_boot())
    ipv4_frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x0800))
    append_raw_record(path, ipv4_frame + b"\x45\x00\xff")  # IPv4 header cut at 3 bytes
    append_raw_record(path, ipv4_frame + b"\x4f" + bytes(30))  # ihl 15, length 0
    append_raw_record(path, b"\x01")  # not even an Ethernet header
    append_raw_record(path, bytes(ARP_FRAME))  # not IP: fine, not unreadable
    append_raw_record(path, b"\x00" * 10, caplen=500)  # file ends inside this record
    analysis = analyze([path], RACK, GEO)
    stats = analysis.captures[0]
    assert stats.packets == len(leaky_boot()) + 5
    assert stats.unreadable == 4
    assert stats.non_ip == 1
    assert kinds(analysis) == {"imei", "iccid", "serial", "location"}


def test_truncated_file_keeps_the_packets_before_the_cut(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "t.pcap", leaky_boot())
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    analysis = analyze([path], RACK, GEO)
    assert analysis.captures[0].unreadable == 1
    assert "imei" in kinds(analysis)


def test_truncated_pcapng_keeps_the_packets_before_the_cut(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "t.pcapng", leaky_boot())
    path.write_bytes(path.read_bytes()[:-30])
    analysis = analyze([path], RACK, GEO)
    assert analysis.captures[0].unreadable == 1
    assert kinds(analysis) == {"imei", "iccid", "serial", "location"}


def test_gzipped_pcap_is_read(tmp_path: Path) -> None:
    plain = write_pcap(tmp_path / "a.pcap", leaky_boot())
    packed = tmp_path / "a.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert kinds(analyze([packed], RACK, GEO)) == {"imei", "iccid", "serial", "location"}


def test_snaplen_truncation_is_counted(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "s.pcap", leaky_boot())
    frame = bytes(udp_packet(PHONE_IP, 5000, CN_IP, 9000, b"x" * 100))
    append_raw_record(path, frame[:60], wirelen=len(frame))  # a 60-byte snaplen
    analysis = analyze([path], RACK, GEO)
    assert analysis.captures[0].truncated == 1


# --- flows and streams -------------------------------------------------------


def _flow_payload(tmp_path: Path, packets: list) -> bytes:
    (flow,) = [f for f in record_packets(tmp_path, packets) if f.info.proto == "tcp"]
    return flow.to_server.payload


def test_retransmits_are_dropped_and_segments_ordered(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=10).handshake()
    segments = session.send(b"0123456789abcdefghijKLMNOPQRST", ack=False)
    first, second, third = (p for p in segments)
    packets = session.packets[:3] + [third, first, first, second, second]
    assert _flow_payload(tmp_path, packets) == b"0123456789abcdefghijKLMNOPQRST"


def test_overlapping_retransmit_keeps_the_new_bytes_only(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=10).handshake()
    first, second = session.send(b"0123456789abcdefghij", ack=False)
    bigger = first.copy()
    bigger[Raw].load = b"0123456789abcde"
    packets = [*session.packets[:3], first, bigger, second]
    assert _flow_payload(tmp_path, packets) == b"0123456789abcdefghij"


def test_identifier_split_across_segments_names_its_first_packet(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=40).handshake()
    body = http_post("zfhmd.vnet.cn", "/a", b"imei=" + IMEI.encode())
    session.send(body)
    analysis = run(tmp_path, session.packets)
    (match,) = [m for m in analysis.matches if m.identifier == "imei"]
    offset = body.index(IMEI.encode())
    assert match.packet == 4 + offset // 40  # after the 3 handshake packets, one per segment
    assert match.offset == offset


def test_missing_segment_is_a_gap(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80, mss=10).handshake()
    segments = session.send(b"0123456789abcdefghijKLMNOPQRST", ack=False)
    session.send(b"ok", from_client=False)  # the server acknowledges all 30 bytes
    packets = [p for p in session.packets if p is not segments[1]]
    analysis = run(tmp_path, packets)
    (flow,) = [f for f in analysis.flows if f.proto == "tcp"]
    assert flow.gaps == 1


def test_lost_last_segment_is_a_gap_through_the_peers_ack(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    (segment,) = session.send(b"imei=" + IMEI.encode())  # then the server ACKs it
    packets = [p for p in session.packets if p is not segment]
    analysis = run(tmp_path, packets)
    (flow,) = analysis.flows
    assert flow.gaps == 1


def test_client_is_who_sent_syn_even_from_a_low_port(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 80, CN_IP, 40000).handshake()
    session.send(b"hello")
    (flow,) = run(tmp_path, session.packets).flows
    assert (flow.client_ip, flow.dst_ip, flow.dst_port) == (PHONE_IP, CN_IP, 40000)


def test_without_syn_the_service_port_is_the_server(tmp_path: Path) -> None:
    packets = [
        udp_packet(CN_IP, 53, PHONE_IP, 1024, b"reply"),
        udp_packet(PHONE_IP, 1024, CN_IP, 53, b"query"),
    ]
    (flow,) = run(tmp_path, packets).flows
    assert (flow.client_ip, flow.dst_ip, flow.dst_port) == (PHONE_IP, CN_IP, 53)
    (no_port,) = run(tmp_path, [udp_packet("198.51.100.1", 7000, "198.51.100.2", 9000, b"x")]).flows
    assert (no_port.dst_ip, no_port.dst_port) == ("198.51.100.1", 7000)


def test_without_syn_the_phone_is_the_client(tmp_path: Path) -> None:
    packets = [
        udp_packet(CN_IP, 9000, PHONE_IP, 5000, b"push"),
        udp_packet(PHONE_IP, 5000, CN_IP, 9000, b"ack"),
    ]
    (flow,) = run(tmp_path, packets).flows
    assert (flow.client_ip, flow.dst_ip, flow.dst_port, flow.device) == (
        PHONE_IP,
        CN_IP,
        9000,
        SERIAL,
    )


def test_reused_ports_make_a_new_flow(tmp_path: Path) -> None:
    one = http_exchange(PHONE_IP, 40000, CN_IP, b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")
    two = TcpSession(PHONE_IP, 40000, CN_IP, 80, client_isn=90000, server_isn=70000)
    two.handshake().send(b"GET /2 HTTP/1.1\r\nHost: b\r\n\r\n")
    flows = run(tmp_path, one.packets + two.packets).flows
    assert [f.http_host for f in flows] == ["a", "b"]
    assert all(f.gaps == 0 for f in flows)


def test_ip_fragments_are_counted(tmp_path: Path) -> None:
    base = Ether(src="02:00:00:00:02:01", dst="02:00:00:00:00:fe")
    first = base / IP(src=PHONE_IP, dst=CN_IP, flags="MF", proto=6) / TCP(dport=80) / (b"x" * 8)
    rest = base / IP(src=PHONE_IP, dst=CN_IP, frag=4, proto=6) / Raw(b"y" * 16)
    analysis = run(tmp_path, [first, rest])
    assert analysis.captures[0].fragments == 2


# --- identifiers -------------------------------------------------------------

PATTERNS = identifier_patterns(RACK)


def found(data: bytes) -> list[tuple[str | None, str, str]]:
    return [(h.device, h.kind, h.value) for h in find_identifiers(data, PATTERNS)]


def test_every_identifier_in_plain_text() -> None:
    data = f"a={IMEI}&b={ICCID}&c={IMSI}&sn={SERIAL.lower()}&mac=02-00-00-00-02-01".encode()
    assert found(data) == [
        (SERIAL, "imei", IMEI),
        (SERIAL, "iccid", ICCID),
        (SERIAL, "imsi", IMSI),
        (SERIAL, "serial", SERIAL),
        (SERIAL, "wifi_mac", "02:00:00:00:02:01"),
    ]


@pytest.mark.parametrize(
    "text", ["02:00:00:00:02:01", "02-00-00-00-02-01", "020000000201", "02:00:00:00:02:01".upper()]
)
def test_wifi_mac_in_any_form(text: str) -> None:
    assert found(f'"mac":"{text}"'.encode()) == [(SERIAL, "wifi_mac", "02:00:00:00:02:01")]


@pytest.mark.parametrize(
    "text",
    [
        f"9{IMEI}",  # inside a longer digit run
        f"{IMEI}01",  # 17 digits: neither the IMEI nor an IMEISV
        ICCID[:-2],  # the issuer's prefix of the ICCID is not the ICCID
        f"{ICCID}5",
        "1700000000352098100123452",
        "02:00:00:00:02:01:ff",  # a longer hardware address
        "a020000000201",
        f"{SERIAL}0",  # another, longer serial
        f"X{SERIAL}",
        "352098100123",  # a shorter digit run
    ],
)
def test_near_misses_do_not_match(text: str) -> None:
    assert found(f"x {text} y".encode()) == []


def test_iccid_without_its_check_digit_and_imeisv_are_matches() -> None:
    assert found(f"x {ICCID[:-1]} y".encode()) == [(SERIAL, "iccid", ICCID)]
    assert found(f"x {IMEI}0 y".encode()) == [(SERIAL, "imei", IMEI)]  # IMEISV, SV "20"


def test_another_devices_imei_is_that_device() -> None:
    assert found(f"imei={OTHER_IMEI}".encode()) == [("SIM7P0002", "imei", OTHER_IMEI)]
    one_phone = identifier_patterns(replace(RACK, devices=RACK.devices[:1]))
    assert find_identifiers(f"imei={OTHER_IMEI}".encode(), one_phone) == []


def test_serial_is_case_insensitive() -> None:
    assert found(b"SERIAL:sim7p0001;") == [(SERIAL, "serial", SERIAL)]


HELSINKI = Location(60.1699, 24.9384, 50.0)


def locations(data: bytes) -> list[str]:
    return [h.value for h in find_locations(data, HELSINKI)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"lat":60.1699,"lon":24.9384}', ["60.1699,24.9384"]),
        (b"loc=60.17,24.94", ["60.17,24.94"]),
        (b'{"coordinates":[24.9384,60.1699]}', ["24.9384,60.1699"]),  # GeoJSON order
        (b'"lat":60.1699,"acc":12.50,"lon":24.9384', ["60.1699,24.9384"]),
        (b'{"lat":39.9042,"lon":116.4074}', []),  # Beijing: far away
        (b'{"lat":60.1699,"pad":"' + b"x" * 70 + b'","lon":24.9384}', []),  # too far apart
        (b"ts=1700000000.123 v=1700000001.456", []),  # timestamps
        (b"version 1.60.17.24 build", []),
        (b"lat=60.3,lon=25.0 acc=12.50", []),  # one decimal is not a coordinate here
    ],
)
def test_location_detector(data: bytes, expected: list[str]) -> None:
    assert locations(data) == expected


def test_location_needs_two_decimals() -> None:
    assert locations(b"lat=60.1,lon=24.9") == []
    assert locations(b"lat=60.17,lon=24.94") == ["60.17,24.94"]


# --- geo ---------------------------------------------------------------------


def test_overlay_comes_first() -> None:
    place = GEO.lookup(CN_IP)
    assert (place.country, place.owner, place.source) == ("CN", "Chinanet", "overlay")


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.1.1",
        "169.254.1.1",
        "fe80::1",
        "::1",
        "ff02::fb",
        "224.0.0.251",
        "239.255.255.250",
        "fd00::1",
        "0.0.0.0",
        "255.255.255.255",
    ],
)
def test_bench_network_is_local(ip: str) -> None:
    place = GEO.lookup(ip)
    assert (place.country, place.source) == (LOCAL, "local")


def test_public_address_from_the_database() -> None:
    place = GEO.lookup("202.102.94.1")
    assert (place.country, place.source) == ("CN", "geoip2fast")
    assert place.owner
    assert GEO.lookup("::ffff:202.102.94.1").country == "CN"
    assert GEO.lookup("2001:4860:4860::8888").country == "US"


def test_unknown_and_invalid_addresses_have_no_country() -> None:
    assert GEO.lookup("198.51.100.7").country is None  # documentation range: not local either
    assert GEO.lookup("not-an-ip") == Place(None, None, "invalid")


def test_database_info_names_source_date_and_licence() -> None:
    info = GEO.info()
    assert info["source"].startswith("MAXMIND:GeoLite2")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info["date"])
    assert info["package"] == "geoip2fast 1.2.2"
    assert "CC BY-SA 4.0" in info["license"]
    assert "MaxMind" in info["attribution"]


# --- the analysis ------------------------------------------------------------


def test_leaky_boot_matches_every_identifier_and_the_location(tmp_path: Path) -> None:
    analysis = run(tmp_path, leaky_boot())
    assert kinds(analysis) == {"imei", "iccid", "serial", "location"}
    post_frame = 6  # DNS query, answer, SYN, SYN-ACK, ACK, then the POST
    for match in analysis.matches:
        assert match.flow.name == "zfhmd.vnet.cn"
        assert (match.flow.country, match.flow.owner) == ("CN", "Chinanet")
        assert match.flow.protocol == "http"
        assert match.packet == post_frame
        assert match.direction == "to_server"
        assert match.device == SERIAL
        assert match.cleartext
    imei = next(m for m in analysis.matches if m.identifier == "imei")
    assert IMEI not in imei.evidence and ICCID not in imei.evidence
    assert "3520…452" in imei.evidence


def test_dns_names_flows_and_queries_are_recorded(tmp_path: Path) -> None:
    analysis = run(tmp_path, leaky_boot())
    dns, http = analysis.flows
    assert (dns.protocol, dns.country, dns.dst_ip) == ("dns", LOCAL, RESOLVER_IP)
    assert (http.name, http.name_source, http.name_resolved) == ("zfhmd.vnet.cn", "dns", True)
    assert http.http_host == "zfhmd.vnet.cn"
    assert http.device == SERIAL
    assert [(q.name, q.packet) for q in analysis.dns_queries] == [("zfhmd.vnet.cn", 1)]


def test_names_without_dns_are_marked_unresolved(tmp_path: Path) -> None:
    tls = tls_exchange(PHONE_IP, 40000, "198.51.100.20", "api.vendor.example").packets
    http = http_exchange(PHONE_IP, 40001, "198.51.100.21", http_post("cdn.example:80", "/", b""))
    bare = TcpSession(PHONE_IP, 40002, "198.51.100.22", 5228).handshake()
    bare.send(b"\x00\x01binary")
    by_ip = {f.dst_ip: f for f in run(tmp_path, tls + http.packets + bare.packets).flows}
    assert (by_ip["198.51.100.20"].name, by_ip["198.51.100.20"].name_source) == (
        "api.vendor.example",
        "sni",
    )
    assert by_ip["198.51.100.20"].protocol == "tls"
    assert by_ip["198.51.100.21"].name_source == "http"
    assert by_ip["198.51.100.21"].name == "cdn.example"
    assert not by_ip["198.51.100.21"].name_resolved
    assert (by_ip["198.51.100.22"].name, by_ip["198.51.100.22"].protocol) == (None, "tcp")


def test_dns_name_wins_but_every_claimed_name_is_kept(tmp_path: Path) -> None:
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "fota.vendor.example", FOTA_IP)
    packets += tls_exchange(PHONE_IP, 40000, FOTA_IP, "tracker.adnet.example").packets
    (_, flow) = run(tmp_path, packets).flows
    assert (flow.name, flow.name_source, flow.sni) == (
        "fota.vendor.example",
        "dns",
        "tracker.adnet.example",
    )
    assert flow.names == ("fota.vendor.example", "tracker.adnet.example")


def test_cname_answer_names_the_address_by_the_queried_name(tmp_path: Path) -> None:
    packets = dns_lookup(
        PHONE_IP, RESOLVER_IP, "fota.vendor.example", "198.51.100.30", cname="edge.cdn.example"
    )
    packets += tls_exchange(PHONE_IP, 40000, "198.51.100.30", "fota.vendor.example").packets
    flow = run(tmp_path, packets).flows[1]
    assert (flow.name, flow.name_resolved) == ("fota.vendor.example", True)


def test_matches_in_both_directions_and_on_any_port(tmp_path: Path) -> None:
    echo = TcpSession(PHONE_IP, 40000, CN_IP, 7777).handshake()
    echo.send(f"device {IMSI} registered".encode(), from_client=False)
    packets = echo.packets + [udp_packet(PHONE_IP, 45000, CN_IP, 9999, f"sn={SERIAL}".encode())]
    analysis = run(tmp_path, packets)
    assert {(m.identifier, m.direction, m.flow.dst_port) for m in analysis.matches} == {
        ("imsi", "to_client", 7777),
        ("serial", "to_server", 9999),
    }


def test_udp_datagrams_are_searched_one_by_one(tmp_path: Path) -> None:
    packets = [
        udp_packet(PHONE_IP, 5000, CN_IP, 9999, b"id=123"),
        udp_packet(PHONE_IP, 5000, CN_IP, 9999, IMEI.encode()),
    ]
    assert [m.packet for m in run(tmp_path, packets).matches] == [2]


def test_tls_wire_bytes_are_searched_too(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 443).handshake()
    session.send(client_hello(f"{IMEI}.t.vnet.cn") + tls_application_data())
    (match,) = run(tmp_path, session.packets).matches
    assert (match.identifier, match.flow.tls, match.cleartext) == ("imei", True, True)


def test_ipv6_flows(tmp_path: Path) -> None:
    phone6, server6 = "fd00::2:1", "2001:4860:4860::8888"
    session = TcpSession(phone6, 40000, server6, 80).handshake()
    session.send(http_post("example.com", "/", f"imei={IMEI}".encode()))
    analysis = run(tmp_path, session.packets)
    (flow,) = analysis.flows
    assert (flow.dst_ip, flow.country, flow.http_host) == (server6, "US", "example.com")
    assert kinds(analysis) == {"imei"}


def test_to_dict_is_json_and_masked(tmp_path: Path) -> None:
    packets = leaky_boot() + [dns_query(PHONE_IP, RESOLVER_IP, f"{IMEI}.t.vnet.cn", sport=40999)]
    text = json.dumps(run(tmp_path, packets).to_dict())
    # The device label (its adb serial) names the phone; here it equals identity.serial.
    text = text.replace(f'"device": "{SERIAL}"', "")
    for raw in (IMEI, ICCID, SERIAL, "60.1699"):
        assert raw not in text
    assert "3520\\u2026452.t.vnet.cn" in text


def test_several_captures_keep_their_own_frame_numbers(tmp_path: Path) -> None:
    first = write_pcap(tmp_path / "boot-1.pcap", leaky_boot())
    second = write_pcap(tmp_path / "boot-2.pcap", leaky_boot())
    analysis = analyze([first, second], RACK, GEO)
    assert {(Path(m.pcap).name, m.packet) for m in analysis.matches} == {
        ("boot-1.pcap", 6),
        ("boot-2.pcap", 6),
    }
    assert len(analysis.captures) == 2
