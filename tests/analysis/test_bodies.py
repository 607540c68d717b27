"""Bodies without headers and MIME bodies, end to end (issue 13): crafted captures.

Before: an IMEI gzip'd in an octet-stream body with no Content-Encoding, zstd over a
raw TCP stream, zlib in a UDP datagram, base64 in a multipart part broken at 76
columns across the IMEI, and quoted-printable escapes were all missed (a pass). Now
each fails with the chain named; the traps (another phone's upload, random bytes
that start with the gzip magic) stay quiet.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import zlib
from pathlib import Path

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.protocols.headerless import MAX_LIVE
from benches.analysis.protocols.mime import MAX_PARTS
from benches.analysis.protocols.notes import BLINDING, BUDGET_SPENT, DECODER_GAVE_UP
from benches.analysis.results import Analysis
from tests.support import bodies
from tests.support.analyzecli import bench, rack_files
from tests.support.pcaps import (
    FOTA_IP,
    IMEI,
    PHONE_IP,
    RESOLVER_IP,
    dns_lookup,
    make_rack,
    write_pcap,
)

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)


def imei_encodings(analysis: Analysis) -> set[str]:
    return {m.encoding for m in analysis.matches if m.value == IMEI}


def notes(analysis: Analysis, kind: str) -> list[str]:
    return [n.detail for f in analysis.flows for n in f.notes if n.kind == kind]


def test_a_gzip_body_without_content_encoding_fails_naming_sniffed_gzip(tmp_path: Path) -> None:
    path = bodies.http_capture(tmp_path / "gz.pcap", bodies.request(gzip.compress(bodies.leak())))
    devices, firmware = rack_files(tmp_path)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert any(
        f.get("identifier") == "imei" and f["encoding"] == "sniffed-gzip+plain" for f in findings
    ), findings


def test_gzip_inside_a_labelled_gzip_is_sniffed_too(tmp_path: Path) -> None:
    body = gzip.compress(gzip.compress(bodies.imei_only()))
    path = bodies.http_capture(
        tmp_path / "gzgz.pcap", bodies.request(body, "Content-Encoding: gzip\r\n")
    )
    assert imei_encodings(analyze([path], RACK, GEO)) == {"gzip+sniffed-gzip+plain"}


def test_zstd_over_a_raw_tcp_stream_is_found(tmp_path: Path) -> None:
    payload = bodies.zstd(bodies.imei_only() + bytes(5000))  # several segments
    analysis = analyze([bodies.raw_tcp_capture(tmp_path / "zstd.pcap", payload)], RACK, GEO)
    assert imei_encodings(analysis) == {"sniffed-zstd+plain"}
    assert not notes(analysis, DECODER_GAVE_UP)


def test_zlib_in_a_udp_datagram_is_found(tmp_path: Path) -> None:
    datagrams = [b"hello", zlib.compress(bodies.imei_only())]
    analysis = analyze([bodies.udp_capture(tmp_path / "zlib.pcap", datagrams)], RACK, GEO)
    assert imei_encodings(analysis) == {"sniffed-zlib+plain"}
    [match] = [m for m in analysis.matches if m.value == IMEI]
    assert match.packet == 4  # the second datagram, after the DNS lookup


def test_a_base64_part_with_the_imei_across_a_line_break_is_found(tmp_path: Path) -> None:
    path = bodies.http_capture(tmp_path / "b64.pcap", bodies.base64_part_request())
    assert imei_encodings(analyze([path], RACK, GEO)) == {"multipart+base64+plain"}


def test_a_quoted_printable_part_is_found(tmp_path: Path) -> None:
    path = bodies.http_capture(tmp_path / "qp.pcap", bodies.quoted_printable_part_request())
    assert imei_encodings(analyze([path], RACK, GEO)) == {"multipart+quoted-printable+plain"}


def test_a_gzip_part_without_content_encoding_is_sniffed(tmp_path: Path) -> None:
    part = (
        'Content-Disposition: form-data; name="log"; filename="log.gz"',
        gzip.compress(bodies.imei_only()),
    )
    path = bodies.http_capture(tmp_path / "part.pcap", bodies.form_data([part]))
    assert imei_encodings(analyze([path], RACK, GEO)) == {"multipart+sniffed-gzip+plain"}


def test_an_ordinary_upload_of_another_phones_numbers_stays_quiet(tmp_path: Path) -> None:
    path = bodies.http_capture(tmp_path / "other.pcap", bodies.other_phone_upload())
    devices, firmware = rack_files(tmp_path)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    document = json.loads(done.stdout)
    assert done.returncode == 0, (document["findings"], done.stderr)
    assert not [n for f in document["flows"] for n in f["notes"]]


def test_random_bytes_after_a_gzip_magic_are_a_note_not_a_finding(tmp_path: Path) -> None:
    path = bodies.http_capture(tmp_path / "junk.pcap", bodies.request(bodies.gzip_magic_garbage()))
    devices, firmware = rack_files(tmp_path)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    document = json.loads(done.stdout)
    assert done.returncode == 0, (document["findings"], done.stderr)
    kinds = [n["kind"] for f in document["flows"] for n in f["notes"]]
    assert kinds == [DECODER_GAVE_UP]
    assert DECODER_GAVE_UP not in BLINDING


def test_a_leak_beside_garbage_after_a_magic_is_still_found_raw(tmp_path: Path) -> None:
    body = bodies.gzip_magic_garbage() + bodies.imei_only()
    analysis = analyze(
        [bodies.http_capture(tmp_path / "raw.pcap", bodies.request(body))], RACK, GEO
    )
    assert imei_encodings(analysis) == {"plain"}
    [detail] = notes(analysis, DECODER_GAVE_UP)
    assert detail.startswith("sniffed-gzip body of the POST at frame ")


def test_garbage_after_a_magic_on_raw_tcp_and_udp_is_a_note(tmp_path: Path) -> None:
    junk = bodies.gzip_magic_garbage()
    tcp = analyze([bodies.raw_tcp_capture(tmp_path / "t.pcap", junk)], RACK, GEO)
    udp = analyze([bodies.udp_capture(tmp_path / "u.pcap", [junk, junk, junk])], RACK, GEO)
    assert not tcp.matches and not udp.matches
    assert [d.split(" but ")[0] for d in notes(tcp, DECODER_GAVE_UP)] == [
        "a TCP stream to_server starts like sniffed-gzip"
    ]
    assert len(notes(udp, DECODER_GAVE_UP)) == 1  # once for the stream, not per datagram


def test_a_zstd_bomb_on_raw_tcp_spends_the_budget(tmp_path: Path) -> None:
    payload = bodies.zstd(bytes(80 << 20) + bodies.imei_only())
    analysis = analyze([bodies.raw_tcp_capture(tmp_path / "bomb.pcap", payload)], RACK, GEO)
    [detail] = notes(analysis, BUDGET_SPENT)
    assert "starts like sniffed-zstd stopped at the flow's budget" in detail


def test_a_clean_headerless_gzip_body_is_quiet(tmp_path: Path) -> None:
    path = bodies.http_capture(tmp_path / "clean.pcap", bodies.request(gzip.compress(bodies.CLEAN)))
    analysis = analyze([path], RACK, GEO)
    assert not analysis.matches and not [n for f in analysis.flows for n in f.notes]


def test_a_body_declared_base64_is_decoded_across_line_breaks(tmp_path: Path) -> None:
    body = bodies.base64_lines(bodies.imei_across_a_line_break())
    message = bodies.request(body, "Content-Transfer-Encoding: base64\r\n")
    path = bodies.http_capture(tmp_path / "b64body.pcap", message)
    assert imei_encodings(analyze([path], RACK, GEO)) == {"base64+plain"}


def test_a_gzipped_multipart_body_is_read_after_the_gzip(tmp_path: Path) -> None:
    inner = bodies.base64_part_request()
    head, _, body = inner.partition(b"\r\n\r\n")
    packed = gzip.compress(body)
    head = head.replace(
        f"Content-Length: {len(body)}".encode(), f"Content-Length: {len(packed)}".encode()
    )
    message = head + b"\r\nContent-Encoding: gzip\r\n\r\n" + packed
    path = bodies.http_capture(tmp_path / "gzmime.pcap", message)
    assert imei_encodings(analyze([path], RACK, GEO)) == {"gzip+multipart+base64+plain"}


def test_more_parts_than_the_bound_make_the_verdict_inconclusive(tmp_path: Path) -> None:
    part = (
        'Content-Disposition: form-data; name="x"\r\nContent-Transfer-Encoding: base64',
        b"QUJD",
    )
    path = bodies.http_capture(tmp_path / "parts.pcap", bodies.form_data([part] * (MAX_PARTS + 1)))
    devices, firmware = rack_files(tmp_path)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    document = json.loads(done.stdout)
    assert done.returncode == 2, (document, done.stderr)
    [note] = [n for f in document["flows"] for n in f["notes"]]
    assert note["kind"] == BUDGET_SPENT and f"more than {MAX_PARTS} MIME parts" in note["detail"]


def test_tshark_reads_the_crafted_multipart_parts_as_intended(tmp_path: Path) -> None:
    """The oracle: tshark finds the parts and their transfer encodings."""
    assert shutil.which("tshark"), "tshark is missing: apt-get install tshark"
    wanted = {"b64": "base64", "qp": "quoted-printable"}
    for name, message in (
        ("b64", bodies.base64_part_request()),
        ("qp", bodies.quoted_printable_part_request()),
    ):
        path = bodies.http_capture(tmp_path / f"{name}.pcap", message)
        command = ["tshark", "-r", str(path), "-Y", "mime_multipart", "-T", "fields"]
        command += ["-e", "mime_multipart.header.content-transfer-encoding"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        assert done.stdout.split() == [wanted[name]]


def test_a_dns_message_whose_id_looks_like_zlib_is_not_sniffed(tmp_path: Path) -> None:
    """DNS (and QUIC) datagrams start with random bytes: they are never sniffed."""
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, bodies.HOST, FOTA_IP, qid=0x789C)
    analysis = analyze([write_pcap(tmp_path / "dns.pcap", packets)], RACK, GEO)
    assert not [n for f in analysis.flows for n in f.notes]


def test_compressed_streams_alive_at_once_are_bounded(tmp_path: Path) -> None:
    """Each stream decoder holds a window (zstd: up to 8 MiB): past MAX_LIVE open at once, a
    stream is searched as sent and its flow says so; the first MAX_LIVE are decoded."""
    payload = bodies.zstd(bodies.imei_only() + bytes(3000))
    packets = bodies.concurrent_raw_streams(MAX_LIVE + 1, payload)
    analysis = analyze([write_pcap(tmp_path / "many.pcap", packets)], RACK, GEO)
    found = {m.flow.id for m in analysis.matches if m.encoding == "sniffed-zstd+plain"}
    assert len(found) == MAX_LIVE
    [detail] = notes(analysis, BUDGET_SPENT)
    assert f"{MAX_LIVE} such streams were being decoded already" in detail
