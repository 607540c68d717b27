"""One detector per rack per process: a sign-off worker judges each of its phone's cycles
with the detector it built for the first (24 phones: ~12,000 literals, a quarter of a
second of CPU to build). Counted, never timed."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from benches.analysis import analyzer
from benches.analysis.analyzer import analyze, detector_for
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.detection.detector import Detector
from benches.inventory.models import Location, Rack
from tests.support.pcaps import leaky_boot, make_rack, write_pcap


class CountedDetector(Detector):
    built = 0

    def __init__(self, rack: Rack) -> None:
        CountedDetector.built += 1
        super().__init__(rack)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[CountedDetector]:
    monkeypatch.setattr(analyzer, "Detector", CountedDetector)
    monkeypatch.setattr(analyzer, "_DETECTORS", {})
    CountedDetector.built = 0
    return CountedDetector


def test_analyses_of_one_rack_build_its_detector_once(
    tmp_path: Path, counted: type[CountedDetector]
) -> None:
    rack = make_rack()
    geo = GeoDatabase.for_rack(rack)
    first = analyze([write_pcap(tmp_path / "boot-1.pcap", leaky_boot())], rack, geo)
    second = analyze([write_pcap(tmp_path / "boot-2.pcap", leaky_boot())], rack, geo)
    assert counted.built == 1
    assert first.detector is second.detector
    assert [m.identifier for m in first.matches] == [m.identifier for m in second.matches] != []


def test_another_rack_gets_its_own_detector(counted: type[CountedDetector]) -> None:
    rack = make_rack()
    moved = replace(rack, bench=replace(rack.bench, location=Location(48.85, 2.35, 50)))
    assert detector_for(rack) is detector_for(make_rack())  # equal racks: one detector
    assert detector_for(moved) is not detector_for(rack)
    assert counted.built == 2


def test_callers_at_once_wait_for_one_build(counted: type[CountedDetector]) -> None:
    rack = make_rack()
    found: list[Detector] = []
    threads = [threading.Thread(target=lambda: found.append(detector_for(rack))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counted.built == 1
    assert len({id(detector) for detector in found}) == 1
