"""The server name in the Initials of every QUIC version the bench reads, as tshark reads
it; and a version it cannot read, said on the flow.

Each capture is built here (tests/support/quic_initials.py seals Initials with its own
salts) and read by the analyzer and by tshark, the peer whose names the bench must match.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.protocols.notes import QUIC_UNREAD
from benches.analysis.protocols.quic import QUIC_V1, QUIC_V2
from benches.analysis.results import Analysis
from tests.support.pcaps import CN_IP, IMEI, PHONE_IP, make_rack, udp_packet, write_pcap
from tests.support.quic_initials import (
    DRAFT_27,
    DRAFT_29,
    Q050,
    SALTS,
    T051,
    chlo,
    crypto_frame,
    google_crypto_frame,
    google_q043_packet,
    google_q046_packet,
    hello_message,
    seal_initial,
)

RACK = make_rack()
GEO = GeoDatabase.for_rack(RACK)
DCID = bytes(range(8))


def initial(version: str, sni: str) -> bytes:
    """A phone's first QUIC datagram in ``version``, asking for ``sni``."""
    if version == "v1":
        return seal_initial(crypto_frame(0, hello_message(sni)), DCID, version=QUIC_V1)
    if version == "v2":
        return seal_initial(crypto_frame(0, hello_message(sni)), DCID, version=QUIC_V2)
    if version == "draft-27":
        return seal_initial(crypto_frame(0, hello_message(sni)), DCID, version=DRAFT_27)
    if version == "draft-29":
        return seal_initial(crypto_frame(0, hello_message(sni)), DCID, version=DRAFT_29)
    if version == "Q050":  # Google's CHLO, encrypted, in Google's CRYPTO frame
        return seal_initial(google_crypto_frame(0, chlo(sni)), DCID, version=Q050, scid=b"")
    if version == "T051":  # a TLS ClientHello in Google's CRYPTO frame, Google's salt
        frame = google_crypto_frame(0, hello_message(sni))
        return seal_initial(frame, DCID, version=T051, scid=b"")
    if version == "Q043":
        return google_q043_packet(DCID, chlo(sni))
    if version == "Q046":
        return google_q046_packet(DCID, chlo(sni))
    raise ValueError(version)


VERSIONS = ["v1", "v2", "draft-27", "draft-29", "Q050", "T051", "Q043", "Q046"]


def capture(tmp_path: Path, *datagrams: bytes) -> Path:
    packets = [udp_packet(PHONE_IP, 50000, CN_IP, 443, d) for d in datagrams]
    return write_pcap(tmp_path / "quic.pcap", packets)


def run(tmp_path: Path, *datagrams: bytes) -> Analysis:
    return analyze([capture(tmp_path, *datagrams)], RACK, GEO)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_initial_of_each_version_names_the_flow(tmp_path: Path, version: str) -> None:
    sni = f"{version.lower()}.vendor.example"
    analysis = run(tmp_path, initial(version, sni))
    [flow] = analysis.flows
    assert (flow.protocol, flow.sni, flow.notes) == ("quic", sni, ())
    assert analysis.matches == []


@pytest.mark.parametrize("version", VERSIONS)
def test_tshark_reads_the_same_name(tmp_path: Path, version: str) -> None:
    """The crafted Initials are what real stacks send: tshark (Wireshark's QUIC and
    gQUIC dissectors) reads the same server name from them."""
    assert shutil.which("tshark"), "tshark is missing: apt-get install tshark"
    sni = f"{version.lower()}.vendor.example"
    path = capture(tmp_path, initial(version, sni))
    fields = ["-e", "tls.handshake.extensions_server_name", "-e", "gquic.tag.sni"]
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", *fields],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert set(out.split()) == {sni}
    assert analyze([path], RACK, GEO).flows[0].sni == sni


def test_an_imei_in_an_encrypted_chlo_is_found_once_decrypted(tmp_path: Path) -> None:
    analysis = run(tmp_path, initial("Q050", f"{IMEI}.t.example"))
    assert [(m.identifier, m.encoding) for m in analysis.matches] == [
        ("imei", "quic-initial+plain")
    ]


def test_an_imei_in_a_cleartext_chlo_is_found_once(tmp_path: Path) -> None:
    """A Q043 CHLO is cleartext: found in the datagram, and not a second time decoded."""
    analysis = run(
        tmp_path, google_q043_packet(DCID, chlo("a.example", user_agent=f"Chrome imei={IMEI}"))
    )
    assert [(m.identifier, m.encoding) for m in analysis.matches] == [("imei", "plain")]


# --- versions the bench cannot read -----------------------------------------------


def unknown_initial(version: bytes, size: int = 1250) -> bytes:
    """A long header of ``version`` (an 8-byte destination ID, no source ID), padded as
    a client pads its first datagram."""
    header = b"\xc3" + version + b"\x08" + DCID + b"\x00"
    return header + bytes(range(256)) * (size // 256) + bytes(size % 256)


@pytest.mark.parametrize(
    ("datagram", "version"),
    [
        (unknown_initial(b"\x1a\x2b\x3c\x4d"), 0x1A2B3C4D),  # a version no one knows
        (unknown_initial(b"\xff\x00\x00\x15"), 0xFF000015),  # draft-21
        (unknown_initial(b"\x00\x00\x00\x00"), 0x00000000),  # Version Negotiation, from a client
        (b"\xc3Q044\x50" + DCID + bytes(1300), 0x51303434),  # Google's Q044
        (b"\x09" + DCID + b"Q048" + bytes(1300), 0x51303438),  # a public header, Q048
    ],
    ids=["unknown", "draft-21", "negotiation", "Q044", "Q048"],
)
def test_an_unread_version_is_said_on_the_flow(
    tmp_path: Path, datagram: bytes, version: int
) -> None:
    [flow] = run(tmp_path, datagram, datagram).flows
    assert [(n.kind, n.detail, n.frame) for n in flow.notes] == [
        (QUIC_UNREAD, f"QUIC version 0x{version:08x} not read", 1)
    ]
    assert flow.sni is None


def test_a_version_forcing_negotiation_then_a_read_one_is_not_said(tmp_path: Path) -> None:
    """A client may open with a reserved version (0x?a?a?a?a) to make the server list
    its versions, then speak one of them: the flow's name is read, nothing unread."""
    grease = unknown_initial(b"\x1a\x2a\x3a\x4a")
    [flow] = run(tmp_path, grease, initial("v1", "after.vendor.example")).flows
    assert (flow.sni, flow.notes) == ("after.vendor.example", ())


def test_an_initial_in_a_reserved_version_is_read_as_its_sender_sealed_it(tmp_path: Path) -> None:
    """QUIC interop runners send their ClientHello inside the reserved version itself,
    sealed as version 1 (or draft-29) seals it; Wireshark reads those, and so does this."""
    hello = crypto_frame(0, hello_message("grease.vendor.example"))
    sealed = seal_initial(hello, DCID, version=0x0A1A2A3A, salt=SALTS[QUIC_V1])
    [flow] = run(tmp_path, sealed).flows
    assert (flow.sni, flow.notes) == ("grease.vendor.example", ())


@pytest.mark.parametrize(
    "datagram",
    [
        bytes([0x80, 0x60]) + bytes(1300),  # RTP version 2: no fixed bit
        bytes([0xC3]) + b"\x1a\x2b\x3c\x4d\x08" + DCID + b"\x00" + bytes(300),  # too short
        bytes([0xC3]) + b"\x1a\x2b\x3c\x4d\x40" + bytes(1300),  # a 64-byte ID: not QUIC
        b"\x16\x03\x01" + bytes(1300),  # DTLS-looking
        # a DNS query padded to 1,300 bytes on port 443 (DNSCrypt), its ID 0xc646
        b"\xc6\x46\x01\x00\x00\x01" + bytes(6) + b"\x0ddnscrypt-cert" + bytes(1280),
    ],
    ids=["rtp", "short", "long-id", "dtls", "padded-dns"],
)
def test_udp_that_is_no_quic_initial_is_not_said(tmp_path: Path, datagram: bytes) -> None:
    [flow] = run(tmp_path, datagram).flows
    assert flow.notes == ()
