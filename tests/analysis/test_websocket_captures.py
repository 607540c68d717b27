"""WebSocket connections end to end (issue 13): a phone's identifier in masked, fragmented
and permessage-deflate messages is found and named with its chain ("websocket+plain",
"websocket+permessage-deflate+plain"); a deflate bomb is inconclusive; an ordinary chat
stays quiet. Each crafted capture is read by tshark too, the oracle of what it says."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from scapy.packet import Packet

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.results import Analysis
from benches.policy.evaluation import evaluate
from benches.policy.verdict import Outcome, Verdict
from tests.support.analyzecli import bench, rack_files
from tests.support.pcaps import (
    CN_IP,
    FOTA_IP,
    IMEI,
    PHONE_IP,
    RESOLVER_IP,
    TcpSession,
    dns_lookup,
    http_post,
    make_policy,
    make_rack,
    write_pcap,
)
from tests.support.websocket_frames import (
    BINARY,
    PING,
    TEXT,
    Compressor,
    connection,
    fragments,
    frame,
    switching,
    upgrade_request,
)

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
MASKS = [bytes([0x37, 0xFA, 0x21, 0x3D]), b"\x9a\x01\xe3\x7c", b"\x00\xff\x10\x80"]
DEFLATE = "permessage-deflate; client_max_window_bits"
SENT = f'{{"type":"register","imei":"{IMEI}","app":"chat"}}'
OTHER_PHONE = '{"imei":"352098100993458","iccid":"89358051000000000319","tac":"35209810"}'


def judged(path: Path) -> tuple[Analysis, Verdict]:
    analysis = analyze([path], RACK, GEO)
    return analysis, evaluate(analysis, make_policy())


def encodings(verdict: Verdict) -> list[str]:
    return [f.encoding for f in verdict.findings if f.identifier == "imei" and f.encoding]


def notes(analysis: Analysis) -> list[tuple[str, str]]:
    return [(n.kind, n.detail) for f in analysis.flows for n in f.notes]


def tshark_texts(path: Path) -> list[str]:
    """The text messages tshark reads in the capture: unmasked, joined, inflated."""
    tshark = shutil.which("tshark")
    assert tshark, "tshark is missing: apt-get install tshark"
    command = [tshark, "-n", "-r", str(path), "-Y", "websocket", "-T", "fields",
               "-e", "websocket.payload.text"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if line]


def write(tmp_path: Path, name: str, packets: list[Packet]) -> Path:
    return write_pcap(tmp_path / f"{name}.pcap", packets)


def test_an_imei_in_a_masked_client_text_frame_fails_naming_websocket(tmp_path: Path) -> None:
    wire = frame(TEXT, SENT.encode(), mask=MASKS[0])
    assert IMEI.encode() not in wire  # masked: the raw stream's search cannot see it
    path = write(tmp_path, "masked", connection([wire]))
    assert tshark_texts(path) == [SENT]
    devices, firmware = rack_files(tmp_path)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    [imei] = [f for f in document["findings"] if f.get("identifier") == "imei"]
    assert (imei["encoding"], imei["form"], imei["packet"]) == ("websocket+plain", "imei-15", 10)
    assert IMEI not in done.stdout


def test_an_imei_across_fragments_with_a_ping_between(tmp_path: Path) -> None:
    at = SENT.index(IMEI) + 7  # the cut falls inside the IMEI
    wire = fragments(TEXT, SENT.encode(), [at, at + 3], mask=MASKS[1],
                     between=frame(PING, b"keepalive", mask=MASKS[2]))  # fmt: skip
    path = write(tmp_path, "fragments", connection([wire], mss=40))  # frames span segments
    assert tshark_texts(path) == [SENT]
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.FAIL
    assert encodings(verdict) == ["websocket+plain"] and notes(analysis) == []


def _context_messages() -> tuple[bytes, bytes]:
    """Two texts: the first holds the IMEI's digits in two pieces, the wrong way round (not
    the IMEI); the second the IMEI, which deflate writes as references into the first."""
    first = b'{"pieces":["%s","%s"]}' % (IMEI[9:].encode(), IMEI[:9].encode())
    second = b'{"imei":"%s"}' % IMEI.encode()
    return first, second


def test_permessage_deflate_with_context_takeover(tmp_path: Path) -> None:
    first, second = _context_messages()
    compressor = Compressor(takeover=True)
    one, two = compressor.message(first), compressor.message(second)
    alone = zlib.decompressobj(-15)
    with pytest.raises(zlib.error):  # the second message cannot be read without the first
        alone.decompress(two + b"\x00\x00\xff\xff")
    wire = [frame(TEXT, one, rsv1=True, mask=MASKS[0]), frame(TEXT, two, rsv1=True, mask=MASKS[1])]
    path = write(tmp_path, "takeover", connection(wire, extensions=DEFLATE))
    assert tshark_texts(path) == [first.decode(), second.decode()]
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.FAIL
    assert encodings(verdict) == ["websocket+permessage-deflate+plain"]
    [finding] = [f for f in verdict.findings if f.identifier == "imei"]
    assert finding.packet == 12 and notes(analysis) == []  # the second message's frame


def test_permessage_deflate_without_context_takeover(tmp_path: Path) -> None:
    first, second = _context_messages()
    compressor = Compressor(takeover=False, bits=10)
    wire = [frame(TEXT, compressor.message(m), rsv1=True, mask=MASKS[i])
            for i, m in enumerate((first, second))]  # fmt: skip
    agreed = "permessage-deflate; client_no_context_takeover; client_max_window_bits=10"
    path = write(tmp_path, "no-takeover", connection(wire, extensions=agreed))
    assert tshark_texts(path) == [first.decode(), second.decode()]
    analysis, verdict = judged(path)
    assert encodings(verdict) == ["websocket+permessage-deflate+plain"]
    assert notes(analysis) == []


def test_the_first_message_alone_is_not_the_imei(tmp_path: Path) -> None:
    """The trap under the takeover test: the IMEI's two pieces, swapped, are no IMEI."""
    first, _ = _context_messages()
    wire = [frame(TEXT, Compressor().message(first), rsv1=True, mask=MASKS[0])]
    path = write(tmp_path, "pieces", connection(wire, extensions=DEFLATE, server=FOTA_IP,
                                                host="fota.vendor.example"))  # fmt: skip
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.PASS, verdict.reasons


def test_a_deflate_bomb_message_is_inconclusive(tmp_path: Path) -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(bytes(80 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    wire = frame(BINARY, payload[:-4], rsv1=True, mask=MASKS[0])
    path = write(tmp_path, "bomb", connection([wire], extensions=DEFLATE, server=FOTA_IP,
                                              host="fota.vendor.example"))  # fmt: skip
    assert path.stat().st_size < 200_000
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.INCONCLUSIVE and not verdict.findings
    [(kind, detail)] = notes(analysis)
    assert kind == "budget-spent"
    assert detail.startswith("decoding WebSocket messages to_server stopped at the flow's budget")


def test_frames_that_do_not_parse_are_noted_and_the_stream_still_searched(
    tmp_path: Path,
) -> None:
    wire = frame(TEXT, b"hello", mask=MASKS[0]) + bytes([0x83, 0x00]) + SENT.encode()
    path = write(tmp_path, "broken", connection([wire]))
    analysis, verdict = judged(path)
    assert encodings(verdict) == ["plain"]  # the raw stream's search found what followed
    [(kind, detail)] = notes(analysis)
    assert kind == "decoder-gave-up" and "reserved opcode 0x3" in detail


def test_an_ordinary_chat_with_another_phones_numbers_passes(tmp_path: Path) -> None:
    client, server = Compressor(), Compressor()
    texts = [OTHER_PHONE, '{"msg":"see you at 18:15, call 0401234567"}', '{"typing":true}']
    sent = [frame(TEXT, client.message(t.encode()), rsv1=True, mask=MASKS[i % 3])
            for i, t in enumerate(texts)]  # fmt: skip
    sent.append(fragments(BINARY, bytes(range(256)) * 40, [3000, 7000], mask=MASKS[1]))
    sent.append(frame(PING, b"", mask=MASKS[2]))
    answers = [frame(TEXT, server.message(b'{"ack":%d}' % i), rsv1=True) for i in range(3)]
    answers.append(frame(TEXT, b'{"from":"' + OTHER_PHONE.encode() + b'"}'))
    path = write(tmp_path, "chat", connection(sent, answers, extensions=DEFLATE, server=FOTA_IP,
                                              host="fota.vendor.example"))  # fmt: skip
    assert tshark_texts(path)[:3] == texts
    devices, firmware = rack_files(tmp_path)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert (document["verdict"], document["findings"]) == ("pass", [])
    assert all(not flow.get("notes") for flow in document["flows"])


def test_frames_in_the_same_segments_as_the_handshake(tmp_path: Path) -> None:
    """A client that does not wait for the 101 (its frames right after its request, in
    one segment), and a server whose 101 and first frames share one too."""
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "zfhmd.vnet.cn", CN_IP)
    session = TcpSession(PHONE_IP, 41006, CN_IP, 80).handshake()
    deflate = Compressor()
    session.send(
        upgrade_request(extensions=DEFLATE)
        + frame(TEXT, b"hi", mask=MASKS[0])
        + frame(TEXT, deflate.message(SENT.encode()), rsv1=True, mask=MASKS[1])
    )
    server = Compressor().message(b'{"welcome":"' + OTHER_PHONE.encode() + b'"}')
    session.send(switching(DEFLATE) + frame(TEXT, server, rsv1=True), from_client=False)
    path = write(tmp_path, "early", packets + session.close().packets)
    # tshark reads a stream as WebSocket only from where the 101 came: the server's message
    assert tshark_texts(path) == ['{"welcome":"' + OTHER_PHONE + '"}']
    analysis, verdict = judged(path)
    assert encodings(verdict) == ["websocket+permessage-deflate+plain"]
    assert notes(analysis) == []


def test_a_declined_upgrade_leaves_the_connection_http(tmp_path: Path) -> None:
    """A server that answers 426, not 101: the client's next bytes are HTTP, read as such."""
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "zfhmd.vnet.cn", CN_IP)
    session = TcpSession(PHONE_IP, 41005, CN_IP, 80).handshake()
    session.send(upgrade_request())
    session.send(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n", from_client=False)
    body = b"imei=" + IMEI.encode()
    session.send(http_post("zfhmd.vnet.cn", "/r", body))
    path = write(tmp_path, "declined", packets + session.close().packets)
    analysis, verdict = judged(path)
    assert encodings(verdict) == ["plain"] and notes(analysis) == []


@pytest.mark.parametrize("stop", ["bomb", "reserved opcode"])
def test_a_leak_before_the_reader_stops_is_still_found(tmp_path: Path, stop: str) -> None:
    """The stream drops a reader that stops (budget spent, frames lost) without closing
    it: what its search held back (the last BATCH bytes) is settled when it stops."""
    leak = frame(TEXT, SENT.encode(), mask=MASKS[0])
    if stop == "bomb":
        bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
        payload = bomb.compress(bytes(80 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
        after = frame(BINARY, payload[:-4], rsv1=True, mask=MASKS[1])
    else:
        after = bytes([0x83, 0x00])
    path = write(tmp_path, "stops", connection([leak + after], extensions=DEFLATE))
    analysis, verdict = judged(path)
    assert encodings(verdict) == ["websocket+plain"]
    assert len(notes(analysis)) == 1


def test_an_upgrade_after_other_messages_on_the_connection(tmp_path: Path) -> None:
    """Frames start where the upgrade's messages end in their streams, wherever that is:
    after a keep-alive byte, a request and its response."""
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "zfhmd.vnet.cn", CN_IP)
    session = TcpSession(PHONE_IP, 41007, CN_IP, 80).handshake()
    session.send(b"\x00GET /config HTTP/1.1\r\nHost: zfhmd.vnet.cn\r\n\r\n")
    session.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", from_client=False)
    session.send(upgrade_request(extensions=DEFLATE))
    session.send(switching(DEFLATE), from_client=False)
    deflate = Compressor()
    session.send(frame(TEXT, deflate.message(SENT.encode()), rsv1=True, mask=MASKS[2]))
    path = write(tmp_path, "after", packets + session.close().packets)
    assert tshark_texts(path) == [SENT]
    analysis, verdict = judged(path)
    assert encodings(verdict) == ["websocket+permessage-deflate+plain"]
    assert [kind for kind, detail in notes(analysis) if "WebSocket" in detail] == []


@pytest.mark.parametrize(
    ("packed", "coding"),
    [
        (lambda data: gzip.compress(data, mtime=0), "sniffed-gzip"),
        (zlib.compress, "sniffed-zlib"),
        (lambda data: zstandard.ZstdCompressor().compress(data), "sniffed-zstd"),
    ],
)
def test_a_binary_message_that_starts_like_compressed_data_is_decoded(
    tmp_path: Path, packed: Callable[[bytes], bytes], coding: str
) -> None:
    """A binary message that is gzip, zlib or zstd with no extension negotiated (the app
    compresses it itself): decoded by what its first bytes say, and named so."""
    message = packed(SENT.encode() * 3)
    cut = len(message) // 2  # two fragments: the decoder follows the message, not the frame
    wire = fragments(BINARY, message, [cut], mask=MASKS[0])
    assert IMEI.encode() not in wire
    path = write(tmp_path, f"ws-{coding}", connection([wire]))
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.FAIL
    # zstd may leave the first copy's bytes as they were: "websocket+plain" finds it too
    assert f"websocket+{coding}+plain" in encodings(verdict)
    assert notes(analysis) == []


def test_messages_that_only_start_like_gzip_are_noted_once_and_pass(tmp_path: Path) -> None:
    """Binary messages of random bytes after a gzip magic: no finding, one informational
    note for the direction (not one per message), and the verdict is not spoiled."""
    noise = [b"\x1f\x8b" + bytes((i * 37 + j * 11) % 251 for j in range(300)) for i in range(5)]
    wires = [frame(BINARY, n, mask=MASKS[i % 3]) for i, n in enumerate(noise)]
    path = write(
        tmp_path, "ws-noise", connection(wires, server=FOTA_IP, host="fota.vendor.example")
    )
    analysis, verdict = judged(path)
    assert verdict.outcome is Outcome.PASS
    assert [kind for kind, _ in notes(analysis)] == ["decoder-gave-up"]
