"""IPv4 and IPv6 fragments made whole: any order, repeats; conflicting overlaps given up."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, fragment6
from scapy.packet import Raw

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.network.defrag import Defragmenter
from benches.analysis.network.packets import IpFragment, parse
from benches.analysis.results import Analysis
from tests.support import capfiles
from tests.support.pcaps import CN_IP, IMEI, PHONE_IP, START, TcpSession, http_post, make_rack

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
PHONE6, SERVER6 = "fd00::2:1", "2001:db8::86:10"
BODY = b"x" * 40 + b"imei=" + IMEI.encode() + b"&" + b"y" * 60


def run(tmp_path: Path, frames: list[bytes], step: float = 0.01) -> Analysis:
    records = [(START + i * step, capfiles.ethernet(f)) for i, f in enumerate(frames)]
    return analyze([capfiles.pcap(tmp_path / "f.pcap", records)], RACK, GEO)


def udp4(ident: int = 77) -> IP:
    return IP(src=PHONE_IP, dst=CN_IP, id=ident) / UDP(sport=40000, dport=9999) / Raw(BODY)


def v4_pieces(packet: IP, size: int = 24) -> list[bytes]:
    return [bytes(p) for p in fragment(packet, fragsize=size)]


def v6_pieces(size: int = 56) -> list[bytes]:
    packet = (
        IPv6(src=PHONE6, dst=SERVER6)
        / IPv6ExtHdrDestOpt()  # before the fragment header: not fragmented
        / IPv6ExtHdrFragment(id=0xBEEF)
        / IPv6ExtHdrDestOpt()  # after it: part of the fragmented payload
        / UDP(sport=40000, dport=9999)
        / Raw(BODY)
    )
    return [bytes(p) for p in fragment6(packet, size + 48)]


def imei_packets(analysis: Analysis) -> list[int]:
    return [m.packet for m in analysis.matches if m.identifier == "imei"]


def test_ipv4_fragments_out_of_order_are_reassembled(tmp_path: Path) -> None:
    pieces = v4_pieces(udp4())
    assert len(pieces) >= 4
    frames = list(reversed(pieces))
    analysis = run(tmp_path, frames)
    assert imei_packets(analysis) == [len(frames)]  # the frame that completed the datagram
    assert analysis.captures[0].fragments == 0
    (flow,) = analysis.flows
    assert (flow.packets, flow.dst_port, flow.bytes_to_server) == (len(pieces), 9999, len(BODY))


def test_ipv4_repeated_and_identically_overlapping_fragments(tmp_path: Path) -> None:
    pieces = v4_pieces(udp4())
    overlap = bytes(IP(pieces[1])[IP].copy())  # a repeat
    analysis = run(tmp_path, [pieces[0], overlap, *pieces[1:]])
    assert len(imei_packets(analysis)) == 1
    assert analysis.captures[0].fragments == 0


def test_conflicting_overlap_gives_the_datagram_up(tmp_path: Path) -> None:
    pieces = v4_pieces(udp4())
    forged = IP(pieces[2])
    forged[Raw].load = b"Z" * len(forged[Raw].load)
    frames = [*pieces, bytes(forged)]
    frames.insert(1, frames.pop())  # the forgery arrives before the datagram is whole
    analysis = run(tmp_path, frames)
    assert imei_packets(analysis) == []
    assert analysis.captures[0].fragments == len(frames)  # makes the verdict inconclusive


def test_tcp_segment_in_fragments(tmp_path: Path) -> None:
    session = TcpSession(PHONE_IP, 40000, CN_IP, 80).handshake()
    (segment,) = session.send(http_post("zfhmd.vnet.cn", "/a", BODY), ack=False)
    frames = [bytes(p[IP]) for p in session.packets[:3]]
    frames += list(reversed(v4_pieces(segment[IP], size=64)))
    analysis = run(tmp_path, frames)
    assert imei_packets(analysis) == [len(frames)]
    assert analysis.flows[0].http_host == "zfhmd.vnet.cn"


def test_ipv6_fragments_with_extension_headers_out_of_order(tmp_path: Path) -> None:
    pieces = v6_pieces()
    assert len(pieces) >= 3
    frames = [pieces[1], *pieces[2:], pieces[0]]
    analysis = run(tmp_path, frames)
    assert imei_packets(analysis) == [len(frames)]
    assert analysis.captures[0].fragments == 0
    (flow,) = analysis.flows
    assert (flow.dst_ip, flow.dst_port) == (SERVER6, 9999)


def test_ipv4_and_ipv6_fragments_interleaved(tmp_path: Path) -> None:
    four, six = v4_pieces(udp4()), v6_pieces()
    frames = [f for pair in zip(four, six, strict=False) for f in pair]
    frames += four[len(six) :] + six[len(four) :]
    assert len(imei_packets(run(tmp_path, frames))) == 2


def test_fragments_that_never_complete_are_counted(tmp_path: Path) -> None:
    pieces = v4_pieces(udp4())
    analysis = run(tmp_path, pieces[:-1])
    assert analysis.captures[0].fragments == len(pieces) - 1
    assert analysis.flows == []


def test_fragments_older_than_the_timeout_are_given_up(tmp_path: Path) -> None:
    pieces = v4_pieces(udp4())
    analysis = run(tmp_path, pieces, step=30.0)  # the datagram would take minutes
    assert imei_packets(analysis) == []
    assert analysis.captures[0].fragments == len(pieces)


def fragments_of(frames: list[bytes]) -> list[IpFragment]:
    found = [parse(capfiles.RAW, f, 0, len(f)) for f in frames]
    assert all(isinstance(f, IpFragment) for f in found)
    return found  # type: ignore[return-value]


def test_too_many_datagrams_at_once_evicts_the_oldest() -> None:
    defrag = Defragmenter(max_datagrams=3)
    firsts = [fragments_of(v4_pieces(udp4(ident)))[0] for ident in range(5)]
    for first in firsts:
        assert defrag.add(first, 0.0) is None
    assert defrag.unreassembled == 2
    defrag.finish()
    assert defrag.unreassembled == 5


def test_too_many_bytes_held_evicts_the_oldest() -> None:
    defrag = Defragmenter(max_bytes=30)
    for ident in range(3):
        defrag.add(fragments_of(v4_pieces(udp4(ident)))[0], 0.0)
    assert defrag.unreassembled == 2


def test_too_many_pieces_held_evicts_the_oldest() -> None:
    """Eight-byte fragments cost far more memory than their bytes: pieces are counted."""
    defrag = Defragmenter(max_pieces=5)
    for ident in range(3):
        for middle in fragments_of(v4_pieces(udp4(ident)))[1:3]:
            assert defrag.add(middle, 0.0) is None
    assert defrag.unreassembled == 2  # the oldest datagram's two fragments
    defrag.finish()
    assert defrag.unreassembled == 6


def test_a_fragment_over_held_pieces_adds_only_what_they_lack() -> None:
    pieces = fragments_of(v4_pieces(udp4(), size=8))
    whole = fragments_of(v4_pieces(udp4(), size=64))
    defrag = Defragmenter()
    for piece in pieces[1:-1:2]:  # every other eight bytes
        assert defrag.add(piece, 0.0) is None
    assert defrag.add(whole[0], 0.0) is None  # the first 64 bytes, over four held pieces
    done = None
    for piece in pieces[1:]:
        done = defrag.add(piece, 0.0) or done
    assert done is not None
    (_, _, _, buffer, start, end, _), count = done
    assert buffer[start:end] == bytes(udp4()[UDP])
    assert count == len(pieces[1:-1:2]) + 1 + len(pieces) - 1


def test_a_conflicting_piece_among_many_gives_the_datagram_up() -> None:
    pieces = fragments_of(v4_pieces(udp4(), size=8))
    liar = fragments_of(v4_pieces(udp4(), size=64))[0]
    liar = liar._replace(buffer=liar.buffer[: liar.end - 1] + b"!" + liar.buffer[liar.end :])
    defrag = Defragmenter()
    for piece in pieces[1:-1]:
        defrag.add(piece, 0.0)
    assert defrag.add(liar, 0.0) is None
    assert all(defrag.add(p, 0.0) is None for p in pieces)
    defrag.finish()
    assert defrag.unreassembled == len(pieces) - 2 + 1 + len(pieces)


def test_a_datagram_longer_than_ip_allows_is_given_up() -> None:
    head = IP(src=PHONE_IP, dst=CN_IP, id=5, flags="MF", frag=8190, proto=17) / Raw(b"x" * 16)
    defrag = Defragmenter()
    (fragment_,) = fragments_of([bytes(head)])
    assert defrag.add(fragment_, 0.0) is None
    defrag.finish()
    assert defrag.unreassembled == 1


@st.composite
def fragmented(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    size = draw(st.sampled_from([8, 16, 24, 64, 200]))
    payload = draw(st.binary(min_size=size + 1, max_size=600))  # two fragments at least
    packet = IP(src=PHONE_IP, dst=CN_IP, id=draw(st.integers(0, 0xFFFF)), proto=17) / Raw(payload)
    pieces = v4_pieces(packet, size)
    repeats = draw(st.lists(st.sampled_from(pieces), max_size=4))
    return payload, list(draw(st.permutations(pieces + repeats)))


@settings(max_examples=200, deadline=None)
@given(case=fragmented())
def test_any_order_and_repetition_gives_back_the_datagram(case: tuple[bytes, list[bytes]]) -> None:
    payload, frames = case
    defrag = Defragmenter()
    results = [defrag.add(f, 0.0) for f in fragments_of(frames)]
    done = [r for r in results if r is not None]
    assert len(done) >= 1, "the datagram was never completed"
    packet, count = done[0]
    proto, _, _, buffer, start, end, _ = packet
    assert (proto, buffer[start:end]) == (17, payload)
    assert count >= 1


@settings(max_examples=300, deadline=None)
@given(
    offsets=st.lists(
        st.tuples(st.integers(0, 8191), st.booleans(), st.binary(max_size=64)), max_size=10
    )
)
def test_random_fragments_never_raise(offsets: list[tuple[int, bool, bytes]]) -> None:
    defrag = Defragmenter()
    for offset, more, data in offsets:
        frame = IP(src=PHONE_IP, dst=CN_IP, id=1, proto=17, frag=offset, flags="MF" if more else 0)
        raw = bytes(frame / Raw(data))
        parsed = parse(capfiles.RAW, raw, 0, len(raw))
        if isinstance(parsed, IpFragment):
            defrag.add(parsed, 0.0)
    defrag.finish()
