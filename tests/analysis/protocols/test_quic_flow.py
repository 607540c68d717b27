"""Which datagrams of a QUIC flow are ciphertext is decided by the flow's handshake, not
by a first byte: a cleartext datagram after a QUIC Initial is searched whole.

A short-header (1-RTT) packet's first byte is 0x40-0x7F: a letter or a ``{``. Only a
packet that carries a connection ID the other side chose, after the server answered
the client's Initial, keeps just its header searched.
"""

from __future__ import annotations

from pathlib import Path

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.results import Analysis
from tests.support.pcaps import CN_IP, IMEI, PHONE_IP, make_rack, udp_packet, write_pcap
from tests.support.quic_initials import DRAFT_29, crypto_frame, hello_message, seal_initial

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
ODCID = bytes(range(8))  # the client's first Destination Connection ID
CLIENT_CID = b"\xc1\x1e\x47" * 2 + b"\x00\x01"  # the client's Source Connection ID
SERVER_CID = b"\x5e\x7e\x40" * 2 + b"\x00\x02"  # the one the server chooses
JSON = b'{"device": {"model": "TA-1046", "imei": "' + IMEI.encode() + b'"}}'


def client_initial() -> bytes:
    hello = crypto_frame(0, hello_message("quic.vendor.example"))
    return seal_initial(hello, ODCID, scid=CLIENT_CID)


def server_initial() -> bytes:
    """The server's answer: an Initial to the client's ID, from the ID it chose, sealed
    with the server's Initial keys (derived from the client's first DCID)."""
    frames = crypto_frame(0, b"\x02\x00\x00\x04" + bytes(4))  # stands for its ServerHello
    return seal_initial(
        frames, CLIENT_CID, scid=SERVER_CID, key_dcid=ODCID, secret_label="server in"
    )


def one_rtt(dcid: bytes, payload: bytes) -> bytes:
    """A short-header packet: its first byte, the ID, then (standing for ciphertext)
    ``payload``, which would spell the identifier if it were searched."""
    return bytes([0x43]) + dcid + b"\x9c\x1f" + payload + bytes(40)


def run(tmp_path: Path, *datagrams: tuple[bool, bytes]) -> Analysis:
    """``datagrams``: (from the phone?, bytes), in order."""
    packets = [
        udp_packet(PHONE_IP, 50000, CN_IP, 443, data)
        if upstream
        else udp_packet(CN_IP, 443, PHONE_IP, 50000, data)
        for upstream, data in datagrams
    ]
    return analyze([write_pcap(tmp_path / "quic.pcap", packets)], RACK, GEO)


def found(analysis: Analysis) -> list[tuple[str, int, str]]:
    return [(m.identifier, m.packet, m.encoding) for m in analysis.matches]


def test_a_cleartext_datagram_after_an_initial_is_searched_whole(tmp_path: Path) -> None:
    """The defect: one valid Initial, then JSON whose ``{`` looks like a short header."""
    analysis = run(tmp_path, (True, client_initial()), (True, JSON))
    assert analysis.flows[0].protocol == "quic"
    assert found(analysis) == [("imei", 2, "plain")]


def test_a_cleartext_datagram_after_a_handshake_is_searched_whole(tmp_path: Path) -> None:
    analysis = run(
        tmp_path, (True, client_initial()), (False, server_initial()), (True, b"{" + JSON)
    )
    assert found(analysis) == [("imei", 3, "plain")]


def test_cleartext_from_the_server_before_it_answers_is_searched_whole(tmp_path: Path) -> None:
    analysis = run(tmp_path, (True, client_initial()), (False, JSON))
    assert found(analysis) == [("imei", 2, "plain")]


def test_a_short_header_to_an_id_the_server_never_chose_is_searched_whole(
    tmp_path: Path,
) -> None:
    stray = one_rtt(b"\x77" * 8, b"imei=" + IMEI.encode())
    analysis = run(tmp_path, (True, client_initial()), (False, server_initial()), (True, stray))
    assert found(analysis) == [("imei", 3, "plain")]


def test_short_headers_after_a_handshake_keep_only_their_header_searched(
    tmp_path: Path,
) -> None:
    """Today's behaviour kept: after a real handshake, 1-RTT packets in both directions
    are ciphertext past their first bytes; what would spell an identifier there is not
    searched (no false alarm on ciphertext)."""
    spelled = b"imei=" + IMEI.encode()
    analysis = run(
        tmp_path,
        (True, client_initial()),
        (False, server_initial()),
        (True, one_rtt(SERVER_CID, spelled)),
        (False, one_rtt(CLIENT_CID, spelled)),
    )
    assert analysis.flows[0].sni == "quic.vendor.example"
    assert found(analysis) == []


def test_the_connection_id_of_a_short_header_stays_searched(tmp_path: Path) -> None:
    """A server that chose an ID spelling the IMEI: the ID is in the searched header."""
    spelled_cid = IMEI.encode()[:15] + b"\x00"
    answer = seal_initial(
        crypto_frame(0, bytes(8)), CLIENT_CID, scid=spelled_cid, key_dcid=ODCID,
        secret_label="server in",
    )  # fmt: skip
    analysis = run(
        tmp_path,
        (True, client_initial()),
        (False, answer),
        (True, one_rtt(spelled_cid, bytes(40))),
    )
    assert ("imei", 3, "plain") in found(analysis)


def test_a_server_that_greases_the_fixed_bit_still_answers(tmp_path: Path) -> None:
    """A server told it may grease the QUIC bit (RFC 9287) clears it, in its Initial too;
    its answer still ties the flow's short headers (which may clear the bit as well)."""
    answer = bytearray(server_initial())
    answer[0] &= ~0x40  # cleared after sealing: the bench reads the answer's header only
    spelled = b"imei=" + IMEI.encode()
    greased = bytearray(one_rtt(SERVER_CID, spelled))
    greased[0] &= ~0x40
    analysis = run(
        tmp_path,
        (True, client_initial()),
        (False, bytes(answer)),
        (True, bytes(greased)),
        (False, one_rtt(CLIENT_CID, spelled)),
    )
    assert found(analysis) == []


def test_the_version_the_client_moves_to_after_negotiation_is_followed(tmp_path: Path) -> None:
    """The client's Initial is read (the flow's reader is done with it), the server
    lists other versions, the client starts over in draft-29: the server's draft-29
    answer ties the short headers, as the first version's would have."""
    negotiation = b"\x80" + bytes(4) + b"\x08" + CLIENT_CID + b"\x08" + ODCID + b"\xff\x00\x00\x1d"
    hello = crypto_frame(0, hello_message("quic.vendor.example"))
    retried = seal_initial(hello, b"\x0d" * 8, scid=CLIENT_CID, version=DRAFT_29)
    answer = seal_initial(
        crypto_frame(0, bytes(8)), CLIENT_CID, scid=SERVER_CID, key_dcid=b"\x0d" * 8,
        secret_label="server in", version=DRAFT_29,
    )  # fmt: skip
    spelled = b"imei=" + IMEI.encode()
    analysis = run(
        tmp_path,
        (True, client_initial()),
        (False, negotiation + bytes(20)),
        (True, retried),
        (False, answer),
        (True, one_rtt(SERVER_CID, spelled)),
    )
    assert found(analysis) == []
