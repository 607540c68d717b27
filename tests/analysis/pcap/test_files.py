"""Reading capture files with our own parsing: pcap and pcapng in every flavour, streamed."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.pcap import files, pcapng
from benches.analysis.pcap.files import CaptureError, read_packets
from benches.analysis.results import Analysis
from tests.support import capfiles
from tests.support.pcaps import CN_IP, IMEI, START, leaky_boot, make_rack, write_pcap, write_pcapng

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
LEAK = {"imei", "iccid", "serial", "location"}


def ip_frames() -> list[bytes]:
    return [bytes(p[IP]) for p in leaky_boot()]


def kinds(analysis: Analysis) -> set[str]:
    return {m.identifier for m in analysis.matches}


def times(path: Path) -> list[float]:
    with read_packets(path) as capture:
        return [time for _, time, _ in capture]


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_in_either_byte_order_and_resolution(tmp_path: Path, endian: str, nano: bool) -> None:
    records = [
        (START + i * 0.25 + 0.000123, capfiles.ethernet(ip)) for i, ip in enumerate(ip_frames())
    ]
    path = capfiles.pcap(tmp_path / "a.pcap", records, endian=endian, nano=nano)
    assert times(path) == pytest.approx([r[0] for r in records], abs=1e-6)
    analysis = analyze([path], RACK, GEO)
    assert kinds(analysis) == LEAK
    assert {m.packet for m in analysis.matches} == {6}


def test_nanosecond_timestamps_keep_their_nanoseconds(tmp_path: Path) -> None:
    path = capfiles.pcap(
        tmp_path / "ns.pcap", [(1.000000789, capfiles.ethernet(ip_frames()[0]))], nano=True
    )
    assert times(path) == [pytest.approx(1.000000789, abs=1e-12)]


def test_pcapng_with_two_interfaces_of_different_link_types(tmp_path: Path) -> None:
    frames = ip_frames()
    blocks = [
        capfiles.section(),
        capfiles.interface(capfiles.ETHERNET),  # microseconds, the default
        capfiles.other_block(),  # a block type the reader does not know: skipped
        capfiles.interface(capfiles.RAW4, tsresol=9),  # nanoseconds
    ]
    for index, ip in enumerate(frames):
        when = START + index
        if index % 2:
            blocks.append(capfiles.enhanced(1, when, ip, units=10**9))
        else:
            blocks.append(capfiles.enhanced(0, when, capfiles.ethernet(ip)))
    path = capfiles.pcapng(tmp_path / "two.pcapng", blocks)
    assert times(path) == pytest.approx([START + i for i in range(len(frames))], abs=1e-6)
    analysis = analyze([path], RACK, GEO)
    assert kinds(analysis) == LEAK
    assert analysis.captures[0].packets == len(frames)
    assert analysis.captures[0].unreadable == 0
    (http,) = [f for f in analysis.flows if f.dst_ip == CN_IP]
    assert (http.name, http.packets) == ("zfhmd.vnet.cn", len(frames) - 2)


def test_big_endian_pcapng_with_a_simple_packet_block(tmp_path: Path) -> None:
    frames = ip_frames()
    blocks = [capfiles.section(">"), capfiles.interface(capfiles.RAW, endian=">")]
    blocks += [capfiles.enhanced(0, START + i, ip, endian=">") for i, ip in enumerate(frames[:-1])]
    blocks.append(capfiles.simple(frames[-1], endian=">"))  # no timestamp of its own
    path = capfiles.pcapng(tmp_path / "be.pcapng", blocks)
    assert times(path)[-1] == times(path)[-2]  # the time of the packet before it
    assert kinds(analyze([path], RACK, GEO)) == LEAK


def test_a_second_section_resets_the_interfaces(tmp_path: Path) -> None:
    frames = ip_frames()
    blocks = [capfiles.section(), capfiles.interface(capfiles.ETHERNET)]
    blocks += [capfiles.enhanced(0, START, capfiles.ethernet(ip)) for ip in frames[:5]]
    blocks += [capfiles.section(">"), capfiles.interface(capfiles.RAW, endian=">")]
    blocks += [capfiles.enhanced(0, START, ip, endian=">") for ip in frames[5:]]
    path = capfiles.pcapng(tmp_path / "sections.pcapng", blocks)
    analysis = analyze([path], RACK, GEO)
    assert kinds(analysis) == LEAK
    assert analysis.captures[0].unreadable == 0


def test_packet_on_an_undeclared_interface_is_unreadable(tmp_path: Path) -> None:
    blocks = [capfiles.section(), capfiles.interface(capfiles.RAW)]
    blocks += [capfiles.enhanced(0, START, ip) for ip in ip_frames()]
    blocks.append(capfiles.enhanced(7, START, ip_frames()[0]))
    path = capfiles.pcapng(tmp_path / "undeclared.pcapng", blocks)
    stats = analyze([path], RACK, GEO).captures[0]
    assert (stats.packets, stats.unreadable) == (len(ip_frames()) + 1, 1)


def test_gzipped_pcapng_is_read(tmp_path: Path) -> None:
    plain = write_pcapng(tmp_path / "a.pcapng", leaky_boot())
    packed = tmp_path / "a.pcapng.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert kinds(analyze([packed], RACK, GEO)) == LEAK


def test_gzip_cut_short_keeps_the_packets_before_the_cut(tmp_path: Path) -> None:
    plain = write_pcap(tmp_path / "a.pcap", leaky_boot() * 20)
    packed = tmp_path / "a.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes())[:-200])
    analysis = analyze([packed], RACK, GEO)
    assert analysis.captures[0].unreadable >= 1
    assert "imei" in kinds(analysis)


def test_records_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    classic = write_pcap(tmp_path / "a.pcap", leaky_boot())
    ng = write_pcapng(tmp_path / "a.pcapng", leaky_boot())
    expected = [list(read_packets(classic)), list(read_packets(ng))]
    monkeypatch.setattr(files, "CHUNK", 7)
    monkeypatch.setattr(pcapng, "CHUNK", 5)
    assert [list(read_packets(classic)), list(read_packets(ng))] == expected
    assert kinds(analyze([classic, ng], RACK, GEO)) == LEAK


def test_a_corrupt_record_length_ends_the_file(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "c.pcap", leaky_boot())
    with path.open("ab") as f:
        f.write(struct.pack("<IIII", int(START), 0, 0x7FFFFFFF, 0x7FFFFFFF) + b"x" * 64)
    with read_packets(path) as capture:
        frames = list(capture)
    assert len(frames) == len(leaky_boot())
    assert (capture.stats.records, capture.stats.unreadable) == (len(leaky_boot()) + 1, 1)


def test_a_corrupt_pcapng_block_length_ends_the_file(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "c.pcapng", leaky_boot())
    with path.open("ab") as f:
        f.write(struct.pack("<II", 6, 13) + bytes(32))  # not a multiple of 4
    analysis = analyze([path], RACK, GEO)
    assert analysis.captures[0].unreadable == 1
    assert kinds(analysis) == LEAK


def test_short_packet_blocks_are_unreadable_not_fatal(tmp_path: Path) -> None:
    blocks = [capfiles.section(), capfiles.interface(capfiles.RAW)]
    blocks.append(struct.pack("<II", 6, 16) + bytes(4) + struct.pack("<I", 16))  # an EPB of 16
    blocks += [capfiles.enhanced(0, START, ip) for ip in ip_frames()]
    path = capfiles.pcapng(tmp_path / "short.pcapng", blocks)
    analysis = analyze([path], RACK, GEO)
    assert analysis.captures[0].unreadable == 1
    assert kinds(analysis) == LEAK


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147), "unsupported link type 147"),
        (capfiles.section()[:20], "unreadable pcapng header"),
        (struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x11223344, 1, 0, -1), "unreadable pcapng header"),
        (b"\x1f\x8b" + bytes(20), "unreadable"),
    ],
)
def test_unusable_headers_are_one_line_errors(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=expected) as error:
        read_packets(path)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_a_directory_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="directory"):
        read_packets(tmp_path)


def test_reading_twice_reopens_the_file(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "a.pcap", leaky_boot())
    capture = read_packets(path)
    assert len(list(capture)) == len(list(capture)) == len(leaky_boot())
    assert capture.stats.records == len(leaky_boot())


def test_the_imei_is_in_the_frame_bytes(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "a.pcap", leaky_boot())
    with read_packets(path) as capture:
        assert sum(IMEI.encode() in data for _, _, data in capture) == 1


PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=600), ng=st.booleans())
def test_garbage_after_a_good_header_never_raises(tmp_path: Path, body: bytes, ng: bool) -> None:
    head = capfiles.section() + capfiles.interface(capfiles.ETHERNET) if ng else PCAP_HEADER
    path = tmp_path / "fuzz.pcap"
    path.write_bytes(head + body)
    analysis = analyze([path], RACK, GEO)
    stats = analysis.captures[0]
    assert stats.unreadable + stats.non_ip <= stats.packets + len(body)


def test_pcapng_binary_timestamp_resolution(tmp_path: Path) -> None:
    blocks = [capfiles.section(), capfiles.interface(capfiles.RAW, tsresol=0x80 | 20)]
    blocks.append(capfiles.enhanced(0, START + 0.5, ip_frames()[0], units=2**20))
    assert times(capfiles.pcapng(tmp_path / "bin.pcapng", blocks)) == [START + 0.5]
