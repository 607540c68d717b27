"""A gzip'd capture is read up to 16 times its size (at least 32 MiB): a small ``.gz``
that says 512 MiB stops there, inconclusive, with one line saying why; what was read
before the cap is judged (a leak in it still fails)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.pcap.files import GZ_FLOOR, GZ_RATIO, read_packets
from benches.policy.evaluation import evaluate
from benches.policy.verdict import Outcome
from tests.support import hostile
from tests.support.analyzecli import bench, rack_files
from tests.support.pcaps import leaky_boot, make_policy, make_rack, write_pcap

# The module-scoped fixtures are costly: its tests share one worker, so they are built once.
pytestmark = pytest.mark.xdist_group("tests/analysis/pcap/test_gz_cap.py")

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
RECORD = 16 + len(hostile.FRAME)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile.expanding_gz(tmp_path_factory.mktemp("gz") / "expands.pcap.gz")


def test_a_gz_capture_is_read_up_to_its_cap(bomb: Path) -> None:
    assert bomb.stat().st_size < 3 << 20  # says 512 MiB
    cap = max(GZ_FLOOR, GZ_RATIO * bomb.stat().st_size)
    capture = read_packets(bomb)
    records = sum(1 for _ in capture.records())
    assert records <= cap // RECORD + 1
    assert capture.stats.stopped is not None
    assert capture.stats.stopped.startswith(
        f"capture expands.pcap.gz expands beyond {cap >> 20} MiB"
    )


def test_the_cap_makes_the_verdict_inconclusive(bomb: Path) -> None:
    analysis = analyze([bomb], RACK, GEO)
    verdict = evaluate(analysis, make_policy())
    assert verdict.outcome is Outcome.INCONCLUSIVE
    [stopped] = [r for r in verdict.reasons if "expands beyond" in r]
    assert "gunzip it to read it all" in stopped and "\n" not in stopped
    assert analysis.captures[0].to_dict()["stopped"] == stopped


def test_a_leak_read_before_the_cap_still_fails(tmp_path: Path) -> None:
    leaky = write_pcap(tmp_path / "leaky.pcap", leaky_boot())
    path = hostile.expanding_gz(tmp_path / "leaky.pcap.gz", 256 << 20, first=leaky)
    verdict = evaluate(analyze([path], RACK, GEO, 2), make_policy())
    assert verdict.outcome is Outcome.FAIL
    assert any("expands beyond" in r for r in verdict.reasons)


def test_a_small_gz_capture_is_read_whole(tmp_path: Path) -> None:
    leaky = write_pcap(tmp_path / "leaky.pcap", leaky_boot())
    path = hostile.expanding_gz(tmp_path / "small.pcap.gz", 4 << 20, first=leaky)
    capture = read_packets(path)
    assert sum(1 for _ in capture.records()) > (4 << 20) // RECORD
    assert capture.stats.stopped is None and capture.stats.unreadable == 0


def test_bench_analyze_says_it_in_one_line(bomb: Path, tmp_path: Path) -> None:
    devices, firmware = rack_files(tmp_path)
    result = bench("analyze", bomb, "--devices", devices, "--firmware", firmware)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [x for x in result.stdout.splitlines() if "expands beyond" in x]
    assert line.strip().startswith("- capture expands.pcap.gz expands beyond")
