"""The ClientHello inside a phone's QUIC Initials is searched: anyone on the path can
decrypt it (RFC 9001 section 5), so an identifier in it leaks as if in cleartext."""

from __future__ import annotations

from pathlib import Path

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.results import Analysis
from tests.support.pcaps import CN_IP, IMEI, PHONE_IP, SERIAL, make_rack, udp_packet, write_pcap
from tests.support.quic_initials import crypto_frame, hello_message, seal_initial

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
DCID = bytes(range(8))


def run(tmp_path: Path, *datagrams: bytes) -> Analysis:
    packets = [udp_packet(PHONE_IP, 50000, CN_IP, 443, d) for d in datagrams]
    packets.append(udp_packet(CN_IP, 443, PHONE_IP, 50000, bytes([0x41]) + bytes(200)))
    return analyze([write_pcap(tmp_path / "quic.pcap", packets)], RACK, GEO)


def found(analysis: Analysis) -> list[tuple[str, str, int, bool]]:
    return [(m.identifier, m.encoding, m.packet, m.cleartext) for m in analysis.matches]


def test_an_imei_in_the_sni_of_a_quic_initial_is_a_cleartext_leak(tmp_path: Path) -> None:
    name = f"{IMEI}.t.example"
    analysis = run(tmp_path, seal_initial(crypto_frame(0, hello_message(name)), DCID))
    assert analysis.flows[0].protocol == "quic" and analysis.flows[0].sni == name
    assert found(analysis) == [("imei", "quic-initial+plain", 1, True)]
    assert IMEI not in analysis.matches[0].evidence  # masked, like every evidence


def test_an_encoded_serial_in_the_sni_names_its_encoding(tmp_path: Path) -> None:
    name = f"{SERIAL.encode().hex()}.x.example"  # hex of the serial's ASCII, as a label
    analysis = run(tmp_path, seal_initial(crypto_frame(0, hello_message(name)), DCID))
    assert found(analysis) == [("serial", "quic-initial+hex", 1, True)]


def test_a_hello_across_two_initials_is_searched_once_it_is_whole(tmp_path: Path) -> None:
    hello = hello_message("b" * 60 + f".{IMEI}.example")
    one = seal_initial(crypto_frame(0, hello[:100]), DCID)
    two = seal_initial(crypto_frame(100, hello[100:]), DCID, packet_number=1)
    assert found(run(tmp_path, one, two)) == [("imei", "quic-initial+plain", 2, True)]


def test_part_of_a_hello_is_still_searched_when_the_rest_never_comes(tmp_path: Path) -> None:
    hello = hello_message(f"{IMEI}.t.example" + ".padding" * 20)
    one = seal_initial(crypto_frame(0, hello[:120]), DCID)
    assert found(run(tmp_path, one)) == [("imei", "quic-initial+plain", 1, True)]


def test_a_clean_initial_gives_nothing(tmp_path: Path) -> None:
    analysis = run(
        tmp_path, seal_initial(crypto_frame(0, hello_message("fota.vendor.example")), DCID)
    )
    assert analysis.flows[0].sni == "fota.vendor.example"
    assert analysis.matches == []
