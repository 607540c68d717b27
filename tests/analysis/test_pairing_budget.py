"""The location search's work per flow (issue 12, "Bounded work"): the near-miss bomb.

A brotli body of about 1 KB can decode to 64 MiB of numbers of both bands around the
bench that never pair (tests/support/hostile.py ``near_miss_bomb_flow``): every one is
read and tried against its neighbours, ~0.6 us a byte, half a minute. The flow's
:class:`~benches.analysis.detection.locations.PairingBudget` stops that search; the flow
says so (BUDGET_SPENT), so the verdict is inconclusive, and a location past it is never
a pass. Work is counted (numbers read), not timed: the allowance is made small here so
that a small body spends it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.detection import locations
from benches.analysis.detection.locations import LocationFinder
from benches.analysis.protocols.notes import BUDGET_SPENT
from benches.policy.evaluation import evaluate
from benches.policy.verdict import Outcome
from tests.support import hostile
from tests.support.pcaps import FOTA_IP, make_policy, make_rack
from tests.support.websocket_frames import TEXT, Compressor, connection, frame

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
ALLOWANCE = 20_000  # units of work: the bomb's 256 KiB below is some 44,000 numbers
BOMB = 256 << 10
LOCATION = b' {"lat":60.1699,"lon":24.9384}'


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every number the location search reads, with the flows' allowance made small."""
    monkeypatch.setattr(locations, "PAIRING_WORK", ALLOWANCE)
    read: list[float] = []
    in_band = LocationFinder._in_band
    monkeypatch.setattr(
        LocationFinder, "_in_band", lambda self, value: read.append(value) or in_band(self, value)
    )
    return read


def spent(path: Path) -> tuple[Outcome, list[str], int]:
    analysis = analyze([path], RACK, GEO)
    verdict = evaluate(analysis, make_policy())
    notes = [n.detail for f in analysis.flows for n in f.notes if n.kind == BUDGET_SPENT]
    locations_found = sum(m.identifier == "location" for m in analysis.matches)
    return verdict.outcome, notes, locations_found


def test_the_near_miss_bomb_stops_at_the_flows_work(tmp_path: Path, reads: list[float]) -> None:
    path = hostile.write(tmp_path / "near.pcap", hostile.near_miss_bomb_flow(BOMB))
    assert path.stat().st_size < 2048
    outcome, notes, found = spent(path)
    assert len(reads) <= ALLOWANCE < BOMB // len(hostile.NEAR_MISS) * 2  # not every number
    assert outcome is Outcome.INCONCLUSIVE and found == 0
    assert notes == [
        "the search for the bench's location stopped at 20,000 units of work (numbers near"
        " its coordinates read and paired): what came later on the flow was not searched"
        " for coordinates"
    ]


def test_a_location_past_the_spent_work_is_inconclusive_not_pass(
    tmp_path: Path, reads: list[float]
) -> None:
    path = tmp_path / "past.pcap"
    hostile.write(path, hostile.near_miss_bomb_flow(BOMB, after=LOCATION))
    outcome, notes, found = spent(path)
    assert outcome is Outcome.INCONCLUSIVE and found == 0 and len(notes) == 1


def test_a_location_before_the_spent_work_is_still_found(
    tmp_path: Path, reads: list[float]
) -> None:
    path = tmp_path / "before.pcap"
    hostile.write(path, hostile.near_miss_bomb_flow(BOMB, before=LOCATION))
    outcome, notes, found = spent(path)
    assert outcome is Outcome.FAIL and found == 1 and len(notes) == 1


def test_near_misses_within_the_work_are_searched_whole(tmp_path: Path, reads: list[float]) -> None:
    packets = hostile.near_miss_bomb_flow(BOMB // 64, after=LOCATION)  # ~350 numbers
    outcome, notes, found = spent(hostile.write(tmp_path / "small.pcap", packets))
    assert notes == [] and found == 1 and outcome is Outcome.FAIL


def test_a_websocket_message_of_near_misses_draws_on_the_same_work(
    tmp_path: Path, reads: list[float]
) -> None:
    """A permessage-deflate message that inflates to near misses (a few hundred bytes
    on the wire): WebSocket's decoded search pays out of the flow's budget too."""
    message = Compressor().message(hostile.NEAR_MISS * (BOMB // len(hostile.NEAR_MISS)))
    wire = [frame(TEXT, message, rsv1=True, mask=b"\x37\xfa\x21\x3d")]
    path = hostile.write(
        tmp_path / "ws.pcap",
        connection(wire, extensions="permessage-deflate", server=FOTA_IP, host=hostile.HOST),
    )
    outcome, notes, found = spent(path)
    assert len(reads) <= ALLOWANCE and found == 0
    assert outcome is Outcome.INCONCLUSIVE and len(notes) == 1
