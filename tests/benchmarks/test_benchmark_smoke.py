"""Smoke test of the throughput benchmark (benchmarks/): no timing is asserted.

The generator makes a small capture with the requested packet count and mix;
its QUIC Initials are protected exactly as RFC 9001 says; and the harness's
analysis step finds the planted leak with ``bench analyze``.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.h2c import H2c, request_fields
from tests.support.paths import BENCHMARKS
from tests.support.pcaps import IMEI, write_pcap

# The module-scoped fixtures are costly: its tests share one worker, so they are built once.
pytestmark = pytest.mark.xdist_group("tests/benchmarks/test_benchmark_smoke.py")

PACKETS = 2_000

# RFC 9001 appendix A.2: the client Initial's CRYPTO frame (a ClientHello for
# example.com), padded to 1,162 bytes, and the protected packet it becomes.
A2_DCID = bytes.fromhex("8394c8f03e515708")
A2_CRYPTO_FRAME = bytes.fromhex(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff"
)
A2_PROTECTED_START = bytes.fromhex(
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
)
A2_PROTECTED_END = bytes.fromhex("e221af44860018ab0856972e194cd934")
A2_PROTECTED_SHA256 = "73fa0210cb4a5a17dc10b9dc98e5cc359ba1c20fe7c0e93a9e1dcb473c37e097"


def _module(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _module("capture_gen")


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    return _module("analyze_throughput")


@pytest.fixture(scope="module")
def capture(gen: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("bench") / "mixed.pcap"
    return path, gen.generate(path, PACKETS)


def test_capture_has_the_requested_count_and_mix(gen: ModuleType, capture: tuple) -> None:
    path, info = capture
    mix = gen.count_mix(path)
    assert sum(mix.values()) == PACKETS
    assert "other" not in mix
    assert dict(mix) == info.mix
    for kind, share in gen.MIX.items():
        assert abs(mix[kind] - PACKETS * share) <= 1, kind


def test_planted_leak_is_in_the_frames_it_names(gen: ModuleType, capture: tuple) -> None:
    path, info = capture
    frames = list(gen.records(path))
    needle = info.plant.value.encode()
    assert info.plant.identifier == "imei"
    assert len(info.plant.frames) == len(gen.LEAK_AT)
    carrying = [n for n, frame in enumerate(frames, start=1) if needle in frame]
    assert carrying == list(info.plant.frames)
    assert all(gen.classify(frames[n - 1]) == "http" for n in carrying)


def test_same_seed_same_bytes(gen: ModuleType, tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.pcap", tmp_path / "b.pcap", tmp_path / "c.pcap"
    gen.generate(first, 300, seed=7)
    gen.generate(second, 300, seed=7)
    gen.generate(other, 300, seed=8)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_quic_initial_is_rfc9001_appendix_a2(gen: ModuleType) -> None:
    crypto = A2_CRYPTO_FRAME[4:]  # the frame's type, offset and length come back from the builder
    packet = gen.quic_client_initial(A2_DCID, b"", 2, crypto, pn_length=4)
    assert len(packet) == 1200
    assert packet.startswith(A2_PROTECTED_START)
    assert packet.endswith(A2_PROTECTED_END)
    assert hashlib.sha256(packet).hexdigest() == A2_PROTECTED_SHA256


def test_head_file_keeps_the_first_packets(gen: ModuleType, capture: tuple, tmp_path: Path) -> None:
    path, _ = capture
    head = tmp_path / "head.pcap"
    assert gen.write_head(path, head, 200) == 200
    assert list(gen.records(head)) == list(gen.records(path))[:200]


def test_bench_analyze_finds_the_planted_leak(harness: ModuleType, capture: tuple) -> None:
    path, info = capture
    check = harness.check_analysis(path, info.plant)
    assert check.verdict == "fail", check.error
    assert check.returncode == 1
    assert check.found_leak, check.findings
    assert set(check.leak_packets) <= set(info.plant.frames)


def test_tshark_reads_names_from_every_protocol(gen: ModuleType, capture: tuple) -> None:
    """tshark decrypts the QUIC Initials (their SNI) and finds no bad checksum."""
    # `./run test` installs tshark (Debian's package); it is the benchmark's peer.
    assert shutil.which("tshark"), "tshark is missing: apt-get install tshark"
    path, _ = capture
    fields = ("quic.long.packet_type", "tls.handshake.extensions_server_name", "dns.qry.name")
    checks = ("ip", "tcp", "udp")
    command = ["tshark", "-r", str(path), "-T", "fields"]
    command += [a for name in (*fields, "http.host") for a in ("-e", name)]
    command += [a for proto in checks for a in ("-o", f"{proto}.check_checksum:TRUE")]
    command += [a for proto in checks for a in ("-e", f"{proto}.checksum.status")]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert len(rows) == PACKETS
    quic_names = {r[1] for r in rows if r[0] == "0" and r[1]}
    tls_names = {r[1] for r in rows if not r[0] and r[1]}
    assert quic_names and quic_names <= set(gen.HOSTS)
    assert tls_names and tls_names <= set(gen.HOSTS)
    assert {r[2] for r in rows if r[2]} <= set(gen.HOSTS)
    assert gen.LEAK_HOST in {r[3] for r in rows}
    statuses = {status for r in rows for status in r[4:] if status}
    assert statuses == {"1"}, "1 is 'good'; 0 would be a bad checksum"


def test_the_hostile_streams_benchmark_runs_each_shape_it_is_asked_for() -> None:
    """benchmarks/hostile_streams.py on two small shapes: a round line and a result row
    each, with the verdict and whether the IMEI was found (tshark needed, as above)."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "hostile_streams.py"), "--rounds", "1",
         "--scale", "0.02", "--shape", "fragments", "--shape", "empty-records"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("  ") and "(IMEI " in line]
    rows = rows[1:]  # after the header
    assert [row.split()[0] for row in rows] == ["fragments", "empty-records"]
    assert all(" fail " in row for row in rows)


def test_the_decoder_share_names_the_decoder_a_capture_exercises(tmp_path: Path) -> None:
    """decoder_share.py profiles one analysis and puts HTTP/2's time under HTTP/2: an h2c
    session gives it a share, the benchmark's plain mix of the same size gives it none."""
    share = _module("decoder_share")
    h2 = H2c.prior_knowledge()
    for stream in range(1, 200, 2):
        h2.exchange(stream, [*request_fields(), ("x-device-id", IMEI)])
    path = write_pcap(tmp_path / "h2c.pcap", h2.packets())
    figures = share.profile(path, BENCHMARKS / "rack20.yaml", share.HERE.parent / "firmware"
                            / "ta1046-global-FIXED.yaml")  # fmt: skip
    assert figures["by_decoder"].get("HTTP/2 (h2c, HPACK)", 0.0) > 0
    assert 0 < figures["decoders"] < figures["seconds"]
    assert "HTTP/2 (h2c, HPACK)" in share.line(figures)


def test_against_runs_another_tree_in_the_same_rounds(tmp_path: Path) -> None:
    """`--against TREE` (issue 12's comparison with an older commit): here the same tree,
    so its analysis must agree with ours; the figures themselves are not asserted."""
    repo = BENCHMARKS.parent
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "analyze_throughput.py"), "--packets", "2000",
         "--rounds", "1", "--against", str(repo)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"against: {repo} at " in out
    round_line = next(line for line in out.splitlines() if line.startswith("round 1/1"))
    assert " against " in round_line and "[exit" not in round_line
    assert "the other tree (--against), same capture, same rounds:" in out
    assert re.search(r"its / tshark\s+[0-9.]+x   ours / its [0-9.]+x", out), out
    won = re.search(r"round by round\s+ours faster in (\d) of (\d), median of its time", out)
    assert won is not None and won[2] == "1" and won[1] in ("0", "1"), out
