"""A content-coding the analyzer cannot remove is said on the flow (issue 12, "a decoder
that gives up says so on the flow").

A corrupt gzip body or a coding no decoder removes (``compress``, a made-up name)
was searched as sent and left no trace: now the flow carries a DECODER_GAVE_UP note,
in the JSON too. Informational, not blinding: the bytes as sent were searched.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.protocols.notes import BLINDING, BLINDING_WITH_HOSTS, DECODER_GAVE_UP
from tests.support import hostile
from tests.support.analyzecli import bench, rack_files
from tests.support.pcaps import make_rack

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
CLEAN_JSON = b'{"status": "ok", "battery": 87}'


def corrupt_gzip() -> bytes:
    body = bytearray(gzip.compress(CLEAN_JSON * 40, mtime=0))
    body[20:40] = bytes(20)  # the deflate stream broken after the header
    return bytes(body)


def capture(folder: Path, body: bytes, coding: str) -> Path:
    packets = hostile._lookup() + hostile._flow(hostile.coded_request(body, coding), 41500)
    return hostile.write(folder / "coded.pcap", packets)


def gave_up(path: Path) -> list[str]:
    analysis = analyze([path], RACK, GEO)
    return [n.detail for f in analysis.flows for n in f.notes if n.kind == DECODER_GAVE_UP]


@pytest.mark.parametrize(
    ("coding", "body", "said"),
    [
        ("gzip", corrupt_gzip(), "gzip body of the POST at frame "),
        ("compress", b"\x1f\x9d\x90" + CLEAN_JSON, "compress body of the POST at frame "),
        ("x-made-up", CLEAN_JSON, "x-made-up body of the POST at frame "),
    ],
    ids=["corrupt-gzip", "compress", "unknown-coding"],
)
def test_a_body_that_cannot_be_decoded_is_noted(
    tmp_path: Path, coding: str, body: bytes, said: str
) -> None:
    [detail] = gave_up(capture(tmp_path, body, coding))
    assert detail.startswith(said)
    assert "could not be decoded: " in detail


def test_a_decodable_body_is_not_noted(tmp_path: Path) -> None:
    assert gave_up(capture(tmp_path, gzip.compress(CLEAN_JSON), "gzip")) == []


def test_the_note_is_in_the_json_and_not_blinding(tmp_path: Path) -> None:
    assert DECODER_GAVE_UP not in BLINDING | BLINDING_WITH_HOSTS
    path = capture(tmp_path, corrupt_gzip(), "gzip")
    devices, firmware = rack_files(tmp_path)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    document = json.loads(done.stdout)
    notes = [n for flow in document["flows"] for n in flow["notes"]]
    assert [n["kind"] for n in notes] == [DECODER_GAVE_UP]
    assert notes[0]["detail"].startswith("gzip body of the POST at frame ")
    assert done.returncode == 0, done.stderr  # a clean body: still a pass
