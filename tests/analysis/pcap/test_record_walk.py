"""The C record walk (benches/analysis/pcap/_records.c) against the pure-Python loop it speeds up.

The Python loop in pcap/files.py is the reference: for every file here, whole or
broken, sharded or not, the compiled walk must give the same records, frame
numbers, times and counts. The compiled walk must be built for these tests
to mean anything, so a missing build fails them (with how to build it)
rather than skipping them.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benches.analysis.detection.detector import Detector
from benches.analysis.inspection import Inspector
from benches.analysis.network.flows import FlowTable
from benches.analysis.pcap import files, recordwalk
from benches.analysis.pcap.clock import Clock
from benches.analysis.pcap.files import PCAP_HEADER_LEN, ReadStats, _pcap_records
from benches.analysis.pcap.recordwalk import Handlers
from benches.analysis.pcap.shard import Shard
from tests.support import capfiles, tunnels
from tests.support.analyzecli import bench, rack_files
from tests.support.pcaps import leaky_boot, make_rack
from tests.support.shardcaps import write_mixed

BUILD_HINT = "the C record walk is not built: install gcc and python3-dev, then pip install -e ."


def compiled() -> recordwalk.Walk:
    walk = recordwalk.compiled_walk()
    if walk is None:
        pytest.fail(f"{BUILD_HINT} ({recordwalk.engine()})")
    return walk


def read(data: bytes, shard: Shard | None, walk: recordwalk.Walk | None) -> tuple[list, ReadStats]:
    """Every record of the pcap bytes ``data`` (frame bytes copied out), and the counts."""
    stats = ReadStats()
    source = io.BytesIO(data[PCAP_HEADER_LEN:])
    found = [
        (frame, time, link, buf[start:end])
        for frame, time, link, buf, start, end in _pcap_records(
            source, data[:PCAP_HEADER_LEN], stats, shard, walk
        )
    ]
    return found, stats


def assert_same(data: bytes, shards: int = 3) -> list:
    """The compiled walk and the Python loop agree on ``data``, whole and in every shard."""
    walk = compiled()
    whole, whole_stats = read(data, None, None)
    assert read(data, None, walk) == (whole, whole_stats)
    for count in range(1, shards + 1):
        union = []
        for index in range(count):
            python = read(data, Shard(index, count), None)
            assert read(data, Shard(index, count), walk) == python, (index, count)
            union += python[0]
        common = {record[0] for record in union}
        assert common <= {record[0] for record in whole}
    return whole


def frames() -> list[bytes]:
    return [capfiles.ethernet(bytes(p.payload)) for p in leaky_boot()]


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_either_byte_order_and_resolution(tmp_path: Path, endian: str, nano: bool) -> None:
    records = [(1_700_000_000 + i * 0.37 + 0.000123, f) for i, f in enumerate(frames())]
    path = capfiles.pcap(tmp_path / "a.pcap", records, endian=endian, nano=nano)
    whole = assert_same(path.read_bytes())
    assert [r[0] for r in whole] == list(range(1, len(records) + 1))
    assert [r[3] for r in whole] == [f for _, f in records]


def test_mixed_capture_with_a_record_cut_by_the_snap_length(tmp_path: Path) -> None:
    pcap, _ = write_mixed(tmp_path)
    data = pcap.read_bytes()
    whole = assert_same(data)
    _, stats = read(data, None, compiled())
    assert stats.truncated == 1 and stats.records == len(whole)


def test_a_file_cut_inside_its_last_record(tmp_path: Path) -> None:
    data = capfiles.pcap(tmp_path / "a.pcap", [(1.0, f) for f in frames()]).read_bytes()
    for cut in (1, 10, 16, 17, 40):
        records, stats = read(data[:-cut], None, compiled())
        assert (records, stats) == read(data[:-cut], None, None)
        assert stats.unreadable == 1 and stats.records == len(frames())


def test_a_corrupt_record_header_ends_the_file(tmp_path: Path) -> None:
    good = capfiles.pcap(tmp_path / "a.pcap", [(1.0, f) for f in frames()]).read_bytes()
    bad = good + struct.pack("<IIII", 1, 0, (1 << 20) + 1, 64) + bytes(64) + good[24:]
    records, stats = read(bad, None, compiled())
    assert (records, stats) == read(bad, None, None)
    assert stats.unreadable == 1 and len(records) == len(frames())


def test_records_across_read_chunks(tmp_path: Path) -> None:
    """A capture several times CHUNK long: records straddle every chunk boundary."""
    many = frames() * (3 * files.CHUNK // sum(map(len, frames())) + 1)
    path = capfiles.pcap(tmp_path / "big.pcap", [(2.0 + i, f) for i, f in enumerate(many)])
    whole = assert_same(path.read_bytes(), shards=2)
    assert len(whole) == len(many)


def test_crc32_is_zlibs() -> None:
    from benches.analysis.pcap import _records  # type: ignore[attr-defined]

    compiled()
    for data in (b"", b"\x00" * 12, bytes(range(12)), b"10.20.0.1..443"):
        assert _records.crc32(data) == zlib.crc32(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(
        st.tuples(
            st.binary(min_size=0, max_size=80),
            st.integers(0, 200),
            st.booleans(),
        ),
        max_size=12,
    ),
    tail=st.binary(max_size=40),
)
def test_fuzzed_records_read_alike(body: list[tuple[bytes, int, bool]], tail: bytes) -> None:
    """Records of random bytes (some lying about their length on the wire), the common
    IPv4 header spliced into some, then garbage: the same records, the same counts."""
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    parts = [header]
    # EtherType IPv4, a 20-byte header (TCP, not a fragment), both addresses, both ports.
    ipv4 = bytes.fromhex("0800" + "4500003c0000400040060000" + "0a1400017b2d4301" + "abcd01bb")
    for data, extra, common in body:
        frame = bytes(12) + ipv4 + data if common else data
        parts.append(struct.pack("<IIII", 5, 6, len(frame), len(frame) + extra) + frame)
    data = b"".join(parts) + tail
    walk = compiled()
    for shard in (None, Shard(0, 2), Shard(1, 2)):
        assert read(data, shard, walk) == read(data, shard, None)


def events(data: bytes, shard: Shard | None, compiled: bool, mask: int) -> list[tuple]:
    """What a flow table is given, in order: ("tcp"/"udp", the handler's arguments, who
    called it) for each packet read in place, ("record", frame, ...) for each record its
    loop reads and cannot read in place."""
    seen: list[tuple] = []
    table = FlowTable("x.pcap", Inspector(Detector(make_rack())))
    clock = Clock()

    def handler(kind: str) -> Callable[..., None]:
        def record(*args: object) -> None:
            assert clock.frame == args[1]  # the clock is set first
            payload = bytes(args[3][args[4] : args[5]])  # type: ignore[index]
            seen.append((kind, *args[:3], payload, *args[6:], "loop" if looping else "walk"))  # type: ignore[index]

        return record

    table._tcp_packet = handler("tcp")  # type: ignore[method-assign]
    table._udp_packet = handler("udp")  # type: ignore[method-assign]
    handlers = Handlers(table._tcp_packet, table._udp_packet, clock, mask)
    looping = False  # the Python loop, not the compiled walk, is handing a packet on
    stats = ReadStats()
    walk = recordwalk.compiled_walk() if compiled else None
    source = io.BytesIO(data[PCAP_HEADER_LEN:])
    for frame, time, link, buf, start, end in _pcap_records(
        source, data[:PCAP_HEADER_LEN], stats, shard, walk, handlers
    ):
        clock.frame = frame  # as packet_loop.read_flows does
        ethernet_ipv4 = link == 1 and buf[start + 12 : start + 14] == b"\x08\x00"
        looping = True
        if ethernet_ipv4 and table.ipv4(frame, time, buf, start + 14, end):
            looping = False
            continue  # the Python loop read it in place: the handler recorded it
        looping = False
        seen.append(("record", frame, time, bytes(buf[start:end])))
    return seen


def without_caller(event: tuple) -> tuple:
    return event if event[0] == "record" else event[:-1]


@pytest.mark.parametrize("mask", [0, 3, 0xFFF])
def test_packets_read_in_place_reach_the_flow_table_in_order(tmp_path: Path, mask: int) -> None:
    compiled()
    pcap, _ = write_mixed(tmp_path)
    data = pcap.read_bytes()
    for shard in (None, Shard(0, 2), Shard(1, 2)):
        python = events(data, shard, False, mask)
        walked = events(data, shard, True, mask)
        assert list(map(without_caller, walked)) == list(map(without_caller, python))
        assert {"tcp", "udp"} <= {e[0] for e in python}
        by_walk = [e[2] for e in walked if e[-1] == "walk"]
        assert by_walk and not any(e[-1] == "walk" for e in python)
        assert all(frame & mask for frame in by_walk) or mask == 0
        # The walk reads every common packet but the sweep's frames, even right after a
        # record it gave back to the loop.
        by_loop = [e[2] for e in walked if e[0] != "record" and e[-1] == "loop"]
        assert all(mask and not frame & mask for frame in by_loop)


def test_pure_python_switch_gives_the_same_json(tmp_path: Path) -> None:
    """``bench analyze --json`` with the compiled walk and with BENCH_PURE_PYTHON=1, in
    one process and in two."""
    compiled()
    pcap, _ = write_mixed(tmp_path)
    devices, firmware = rack_files(tmp_path)
    for jobs in ("1", "2"):
        argv = ("analyze", pcap, "--json", "--devices", devices, "--firmware", firmware)
        runs = [
            bench(*argv, "--jobs", jobs, env={recordwalk.PURE_PYTHON_ENV: pure})
            for pure in ("0", "1")
        ]
        assert [run.returncode for run in runs] == [1, 1], runs[0].stderr
        assert runs[0].stdout == runs[1].stdout
        assert '"cleartext_identifier"' in runs[0].stdout


def test_engine_says_which_walk_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled()
    assert recordwalk.engine().startswith("C ")
    monkeypatch.setenv(recordwalk.PURE_PYTHON_ENV, "1")
    assert recordwalk.compiled_walk() is None
    assert recordwalk.engine() == "pure Python (BENCH_PURE_PYTHON=1)"


@pytest.mark.parametrize("error", [OSError("disk"), EOFError(), zlib.error("bad")])
def test_an_error_in_the_flow_table_is_not_taken_for_a_broken_file(
    tmp_path: Path, error: Exception
) -> None:
    """The compiled walk calls the flow table from inside the record loop; an error
    raised there must end the analysis, never pass for a file that broke mid-read."""
    walk = compiled()
    data = capfiles.pcap(tmp_path / "a.pcap", [(1.0, f) for f in frames()]).read_bytes()

    def broken(*args: object) -> None:
        raise error

    stats = ReadStats()
    records = _pcap_records(
        io.BytesIO(data[PCAP_HEADER_LEN:]), data[:PCAP_HEADER_LEN], stats, None, walk,
        Handlers(broken, broken),
    )  # fmt: skip
    with pytest.raises(type(error)):
        list(records)
    assert stats.unreadable == 0


def vxlan_frames() -> list[bytes]:
    """The phone's packets inside VXLAN, each direction from its own outer source port."""
    return [tunnels.vxlan(bytes(p.payload)) for p in leaky_boot()]


def test_vxlan_is_never_skipped_nor_read_in_place(tmp_path: Path) -> None:
    """UDP to port 4789 is a tunnel: every shard gets its records (the inner flow decides
    whose it is), and neither walk hands it to the flow table as a UDP flow."""
    records = [(1.0 + i, f) for i, f in enumerate(vxlan_frames() + frames())]
    data = capfiles.pcap(tmp_path / "v.pcap", records).read_bytes()
    assert_same(data, shards=3)
    tunnelled = set(range(1, len(vxlan_frames()) + 1))
    for shard in (Shard(0, 2), Shard(1, 2)):
        kept = {record[0] for record in read(data, shard, compiled())[0]}
        assert tunnelled <= kept
        for walked in (False, True):
            seen = events(data, shard, walked, 0)
            assert {e[1] for e in seen if e[0] == "record"} >= tunnelled
            assert not {e[2] for e in seen if e[0] != "record"} & tunnelled
