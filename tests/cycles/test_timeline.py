"""Findings placed on the cycle's timeline: "2.1 s after unlock" (crafted pcap files)."""

from __future__ import annotations

from pathlib import Path

from scapy.utils import wrpcap

from benches.analysis.attribution.geo import GeoDatabase
from benches.cycles import CycleRecord, Event
from benches.cycles.timeline import place
from benches.inventory.models import Manifest
from benches.policy.judge import judge_cycle
from tests.support.pcaps import START, leaky_boot, make_policy, make_rack, stamp

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
MANIFEST = Manifest(Path("m.yaml"), "B1", "fp", "global", make_policy())


def event(name: str, wall: float) -> Event:
    return Event(name, round(wall - START, 3), wall)


def test_place_names_the_latest_phone_event_before_the_packet() -> None:
    timeline = [
        event("capture_started", START),
        event("screen_off", START + 1),
        event("wake", START + 6),
        event("unlock", START + 7),
        event("canary", START + 8),  # bookkeeping: never the anchor
    ]

    assert place(START + 9.14, timeline) == "2.1 s after unlock"
    assert place(START + 6.5, timeline) == "0.5 s after wake"
    assert place(START + 0.6, timeline) == "0.4 s before screen off"
    assert place(START, [event("capture_started", START)]) is None


def test_events_named_after_an_adb_state_read_as_what_happened() -> None:
    boot = [event("power_on", START), event("offline", START + 2), event("device", START + 9)]
    assert place(START + 10.3, boot) == "1.3 s after adb came online"
    assert place(START + 2.5, boot) == "0.5 s after adb went offline"
    assert place(START + 1, boot) == "1.0 s after power on"


def test_a_leak_in_the_cycle_summary_says_when_it_happened(tmp_path: Path) -> None:
    pcap = tmp_path / "SI_1-unlock-1.pcap"  # as the bench names it
    # The leaky POST goes out a few seconds into the window, after the unlock.
    packets = stamp(leaky_boot(), start=START + 4.0, step=0.01)
    wrpcap(str(pcap), packets)
    record = CycleRecord("SIM7P0001", "unlock", 1, pcap)
    record.timeline = [
        event("capture_started", START),
        event("screen_off", START + 0.5),
        event("wake", START + 2.5),
        event("unlock", START + 3.0),
    ]

    result = judge_cycle(record, RACK, MANIFEST, GEO)

    assert result.verdict.outcome == "fail"
    cleartext = [f for f in result.verdict.findings if f.kind == "cleartext_identifier"]
    assert cleartext
    for finding in cleartext:
        assert result.when(finding) is not None
        assert result.when(finding).endswith("s after unlock")  # type: ignore[union-attr]
    assert "s after unlock) in unlock cycle 1 of SI…1" in result.summary()
    assert "SIM7P0001" not in result.summary()
