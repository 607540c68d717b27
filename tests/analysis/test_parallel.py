"""``analyze(..., jobs=N)``: the captures read by N processes give what one process gives.

The captures (tests/support/shardcaps.py) mix what could tell a sharded reading from
a single one; the whole ``bench analyze --json`` document must come out the
same, byte for byte.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from benches.analysis import parallel, readout
from benches.analysis.analyzer import analyze, detector_for
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.attribution.phones import Phones
from benches.analysis.pcap.files import read_packets
from benches.analysis.pcap.shard import Shard
from benches.cli.analyze import result_document, write_json
from benches.policy.evaluation import evaluate
from tests.support.paths import BENCHMARKS
from tests.support.pcaps import make_policy, make_rack
from tests.support.shardcaps import write_mixed

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)

# The module-scoped capture is costly: its tests share one worker, so it is built once.
pytestmark = [
    pytest.mark.skipif(not parallel.can_fork(), reason="needs the fork start method"),
    pytest.mark.xdist_group("tests/analysis/test_parallel.py"),
]


def document(captures: list[Path], jobs: int) -> str:
    analysis = analyze(captures, RACK, GEO, jobs)
    verdict = evaluate(analysis, make_policy())
    out = io.StringIO()
    write_json(result_document(verdict, analysis, GEO.info(), "TEST"), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_mixed(tmp_path_factory.mktemp("mixed"))


@pytest.mark.parametrize("jobs", [2, 3])
def test_a_mixed_capture_gives_the_same_document(mixed: tuple[Path, Path], jobs: int) -> None:
    pcap, _ = mixed
    single = document([pcap], 1)
    assert '"cleartext_identifier"' in single and '"a.vendor.example", "b.vendor.example"' in single
    assert document([pcap], jobs) == single


def test_several_captures_pcapng_and_a_repeat_give_the_same_document(
    mixed: tuple[Path, Path],
) -> None:
    pcap, pcapng = mixed
    captures = [pcap, pcapng, pcap]
    assert document(captures, 2) == document(captures, 1)


def test_the_benchmark_capture_gives_the_same_document(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import capture_gen
    finally:
        sys.path.remove(str(BENCHMARKS))
    path = tmp_path / "mixed.pcap"
    capture_gen.generate(path, 3_000)
    assert document([path], 2) == document([path], 1)


def test_a_pipe_is_read_in_one_process(mixed: tuple[Path, Path], tmp_path: Path) -> None:
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)
    data = mixed[0].read_bytes()
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    try:
        piped = document([fifo], 2)
    finally:
        writer.join(timeout=30)
    single = document([mixed[0]], 1)
    assert piped == single.replace(str(mixed[0]), str(fifo)).replace(mixed[0].name, fifo.name)


def test_a_worker_that_fails_loses_the_analysis_with_one_line(
    mixed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ValueError("broken shard")

    monkeypatch.setattr(parallel, "read_flows", broken)  # the forked workers inherit it
    with pytest.raises(parallel.WorkerLost) as lost:
        analyze([mixed[0]], RACK, GEO, 2)
    message = str(lost.value)
    assert "\n" not in message
    assert "failed while reading" in message and str(mixed[0]) in message
    assert "ValueError: broken shard" in message


def test_a_worker_that_exits_loses_the_analysis(
    mixed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "read_flows", lambda *args: os._exit(3))
    with pytest.raises(parallel.WorkerLost, match=r"died \(exit code 3\) while reading"):
        analyze([mixed[0]], RACK, GEO, 2)


def test_a_worker_killed_from_outside_loses_the_analysis(
    mixed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL sent by another process to a worker mid-read (as the OOM killer does)."""
    started = multiprocessing.get_context("fork").Event()

    def stuck(*args: object) -> None:
        shard = args[3]
        if isinstance(shard, Shard) and shard.index == 1:
            started.set()  # worker 2 is reading: kill it now
        time.sleep(120)

    monkeypatch.setattr(parallel, "read_flows", stuck)
    killed: list[int] = []

    def killer() -> None:
        started.wait(60)
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for child in multiprocessing.active_children():
                if child.name == "bench-analyze-1" and child.pid is not None:
                    os.kill(child.pid, signal.SIGKILL)
                    killed.append(child.pid)
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        with pytest.raises(parallel.WorkerLost) as lost:
            analyze([mixed[0]], RACK, GEO, 2)
    finally:
        thread.join(timeout=90)
    assert killed
    assert str(lost.value).startswith(f"worker 2 died (signal 9, killed) while reading {mixed[0]}")
    assert not [c for c in multiprocessing.active_children() if c.name.startswith("bench-")]


def test_a_readout_sent_in_many_small_parts_gives_the_same_document(
    mixed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker sends its readout in parts (readout.parts): flows, queries and answers
    split over several messages each are put back in order."""
    single = document([mixed[0]], 1)
    monkeypatch.setattr(readout, "PART", 3)  # the forked workers inherit it
    assert document([mixed[0]], 2) == single
    # What the workers sent, made here: several parts of each kind, put back as they were.
    whole = parallel.read_all(
        [read_packets(mixed[0])], detector_for(RACK), Phones(RACK).by_address.keys()
    )
    messages = list(readout.parts(whole))
    kinds = [kind for kind, _ in messages]
    for kind, items in (
        ("flows", whole.flows), ("queries", whole.queries), ("answers", whole.answers),
        ("matches", whole.matches),
    ):  # fmt: skip
        assert kinds.count(kind) == -(-len(items) // 3) > 1
    assert all(len(items) <= 3 for kind, items in messages if kind != "captures")
    again = readout.Readout()
    for kind, items in messages:
        readout.add_part(again, kind, items)
    assert again == whole
    assert all(type(record) is readout.FlowRecord for record in again.flows)


def test_a_worker_that_sends_a_broken_part_loses_the_analysis(
    mixed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "parts", lambda whole: iter([("bogus", [])]))
    with pytest.raises(parallel.WorkerLost) as lost:
        analyze([mixed[0]], RACK, GEO, 2)
    expected = r"worker [12] sent a broken result \(ValueError: not a part of a readout: 'bogus'\)"
    assert re.fullmatch(expected, str(lost.value))
