"""The detector on a stream: chunk by chunk, each hit once, at stream offsets, bounded memory."""

from __future__ import annotations

import base64
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.detection.detector import Detector, Hit
from benches.policy.evaluation import evaluate
from benches.policy.findings import CLEARTEXT_IDENTIFIER
from tests.support.pcaps import (
    CN_IP,
    ICCID,
    IMEI,
    PHONE_IP,
    SERIAL,
    TcpSession,
    http_post,
    make_policy,
    make_rack,
    write_pcap,
)

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
DETECTOR = Detector(RACK)

NOISE = random.Random(7).randbytes(3000)
STREAM = (
    NOISE[:900]
    + b'POST /a HTTP/1.1\r\n\r\n{"imei":"'
    + IMEI.encode()
    + b'","b":"'
    + base64.b64encode(b"iccid=" + ICCID.encode())
    + b'","h":"'
    + SERIAL.encode().hex().encode()
    + b'","j":"'
    + "".join(f"\\u{b:04x}" for b in IMEI.encode()).encode()
    + b'","lat":60.1699,"lon":24.9384,"e7":[249384000,601699000],"w":"'
    + SERIAL.encode("utf-16-le")
    + b'"}'
    + NOISE[900:]
    + b"sn="
    + SERIAL.encode()  # the last bytes of the stream
)


def key(hit: Hit) -> tuple[int, int, str, str, str]:
    return hit.start, hit.end, hit.kind, hit.form, hit.encoding


WHOLE = sorted(key(h) for h in DETECTOR.scan(STREAM))


def streamed(chunks: list[bytes]) -> list[tuple[int, int, str, str, str]]:
    scanner = DETECTOR.stream()
    hits: list[Hit] = []
    for chunk in chunks:
        hits += scanner.feed(chunk)
        assert len(scanner.buffer) <= max(scanner.keep, len(chunk) + scanner.keep)
    hits += scanner.finish()
    return sorted(key(h) for h in hits)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


def test_the_stream_holds_every_kind_of_hit() -> None:
    kinds = {(k, f, e) for _, _, k, f, e in WHOLE}
    assert kinds == {
        ("imei", "imei-15", "plain"),
        ("iccid", "iccid", "base64"),
        ("serial", "serial", "hex"),
        ("imei", "imei-15", "json-u"),
        ("location", "decimal", "plain"),
        ("location", "e7-lonlat", "plain"),  # [lon, lat]: the order is named (issue 13)
        ("serial", "serial-utf16le", "plain"),
        ("serial", "serial", "plain"),
    }


def test_in_one_chunk_as_in_a_whole_scan() -> None:
    assert streamed([STREAM]) == WHOLE


def test_chunk_by_chunk_at_every_size() -> None:
    for size in (1, 2, 3, 5, 17, 64, 255, 1400):
        chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
        assert streamed(chunks) == WHOLE, size


def test_split_at_every_offset_of_each_match() -> None:
    for start, end, *_ in WHOLE:
        for cut in range(start - 1, end + 2):
            assert streamed(split(STREAM, [cut])) == WHOLE, cut


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_split_anywhere(cuts: list[int]) -> None:
    assert streamed(split(STREAM, cuts)) == WHOLE


def test_memory_stays_bounded_on_a_long_stream() -> None:
    scanner = DETECTOR.stream()
    chunk = random.Random(3).randbytes(4096)
    found = []
    for index in range(256):  # 1 MiB
        found += scanner.feed(chunk if index != 100 else chunk[:2000] + IMEI.encode() + b";")
        assert len(scanner.buffer) <= scanner.keep
    found += scanner.finish()
    assert [(h.start, h.form) for h in found] == [(100 * 4096 + 2000, "imei-15")]
    assert scanner.keep < 4 * (DETECTOR.span + 64)


def test_a_hit_at_the_very_end_waits_for_finish() -> None:
    scanner = DETECTOR.stream()
    assert scanner.feed(b"imei=" + IMEI.encode()) == []  # one more digit would change it
    assert [(h.start, h.end) for h in scanner.finish()] == [(5, 20)]


def test_a_form_split_across_tcp_segments_is_one_finding(tmp_path) -> None:
    body = (
        b'{"b":"' + base64.b64encode(b"imei=" + IMEI.encode()) + b'","lat":60.1699,"lon":24.9384}'
    )
    session = TcpSession(PHONE_IP, 40001, CN_IP, 80, mss=7).handshake()
    session.send(http_post("zfhmd.vnet.cn", "/a", body))
    session.close()
    pcap = write_pcap(tmp_path / "split.pcap", session.packets)
    verdict = evaluate(analyze([pcap], RACK, GEO), make_policy())
    found = [
        (f.identifier, f.encoding, f.occurrences)
        for f in verdict.findings
        if f.kind == CLEARTEXT_IDENTIFIER
    ]
    assert sorted(found) == [("imei", "base64", 1), ("location", "plain", 1)]
