"""QUIC client Initials: the RFC test vectors, Initials sealed here with any name, garbage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.protocols import gquic
from benches.analysis.protocols.ciphertext import QuicConnection
from benches.analysis.protocols.quic import (
    QUIC_V1,
    QUIC_V2,
    ClientInitials,
    decrypt_initials,
    may_hold_initial,
    unread_version,
)
from tests.support.quic_initials import (
    chlo,
    crypto_frame,
    google_q043_packet,
    hello_message,
    initial_sni,
    parse_initial,
    seal_initial,
    varint,
)

# RFC 9001 appendix A.2: the client Initial (packet number 2, 1200 bytes) whose
# CRYPTO frame holds a ClientHello for example.com.
RFC9001_A2 = bytes.fromhex(
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934"
)
# RFC 9369 appendix A.2: the same ClientHello in a QUIC version 2 Initial.
RFC9369_A2 = bytes.fromhex(
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
    "a18b2faa745b6fe189cf772a9f84cbfc"
)
RFC_DCID = bytes.fromhex("8394c8f03e515708")


# --- the RFC vectors ----------------------------------------------------------------


def test_rfc9001_client_initial() -> None:
    initial = parse_initial(RFC9001_A2)
    assert initial is not None
    assert (initial.version, initial.dcid, initial.sni) == (QUIC_V1, RFC_DCID, "example.com")
    assert initial.crypto[:4] == bytes.fromhex("010000ed")  # ClientHello, 237 bytes
    assert len(initial.crypto) == 4 + 0xED
    [packet] = decrypt_initials(RFC9001_A2)
    assert (packet.packet_number, packet.scid, packet.token) == (2, b"", b"")
    assert initial_sni(RFC9001_A2) == "example.com"


def test_rfc9369_v2_client_initial() -> None:
    initial = parse_initial(RFC9369_A2)
    assert initial is not None
    assert (initial.version, initial.dcid, initial.sni) == (QUIC_V2, RFC_DCID, "example.com")


def test_damaged_vectors_do_not_decrypt() -> None:
    flipped = bytearray(RFC9001_A2)
    flipped[300] ^= 0x01
    assert parse_initial(bytes(flipped)) is None
    assert parse_initial(RFC9001_A2[:-1]) is None  # the length field now overruns
    wrong_dcid = bytearray(RFC9001_A2)
    wrong_dcid[6] ^= 0xFF
    assert parse_initial(bytes(wrong_dcid)) is None


# --- Initials sealed here ----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    sni=st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}", fullmatch=True),
    dcid=st.binary(min_size=0, max_size=20),
    token=st.binary(max_size=40),
    packet_number=st.integers(0, 255),
    pn_length=st.integers(1, 4),
    version=st.sampled_from([QUIC_V1, QUIC_V2]),
)
def test_sealed_initials_give_their_sni(
    sni: str, dcid: bytes, token: bytes, packet_number: int, pn_length: int, version: int
) -> None:
    datagram = seal_initial(
        crypto_frame(0, hello_message(sni)),
        dcid,
        token=token,
        packet_number=packet_number,
        pn_length=pn_length,
        version=version,
    )
    initial = parse_initial(datagram)
    assert initial is not None
    assert (initial.version, initial.dcid, initial.sni) == (version, dcid, sni)
    [packet] = decrypt_initials(datagram)
    assert (packet.token, packet.packet_number) == (token, packet_number)


def test_crypto_frames_out_of_order_among_ping_padding_and_ack() -> None:
    hello = hello_message("fota.vendor.example")
    frames = (
        b"\x01"  # PING
        + crypto_frame(60, hello[60:])
        + b"\x00\x00\x00"  # PADDING
        + b"\x03" + varint(5) + varint(0) + varint(1) + varint(0) + varint(1) + varint(1)
        + varint(0) + varint(0) + varint(0)  # ACK_ECN with one more range
        + crypto_frame(0, hello[:30])
        + b"\x1c" + varint(0) + varint(0) + varint(2) + b"ok"  # CONNECTION_CLOSE
        + crypto_frame(20, hello[20:70])  # overlaps both neighbours
    )  # fmt: skip
    assert initial_sni(seal_initial(frames, b"\x11" * 8)) == "fota.vendor.example"


def test_coalesced_packets_in_one_datagram() -> None:
    hello = hello_message("zfhmd.vnet.cn")
    dcid = b"\xaa" * 8
    first = seal_initial(crypto_frame(0, hello[:50]), dcid, size=0)
    # A 0-RTT packet in between: skipped by its length, never decrypted.
    zero_rtt = bytes([0xD1]) + QUIC_V1.to_bytes(4, "big") + b"\x08" + dcid + b"\x00"
    zero_rtt += varint(30) + bytes(range(30))
    second = seal_initial(crypto_frame(50, hello[50:]), dcid, packet_number=1, size=0)
    datagram = first + zero_rtt + second + bytes(100)  # trailing padding
    assert [p.packet_number for p in decrypt_initials(datagram)] == [0, 1]
    assert initial_sni(datagram) == "zfhmd.vnet.cn"


def test_client_hello_across_datagrams() -> None:
    hello = hello_message("b" * 60 + ".vendor.example")
    dcid = b"\x42" * 12
    one = seal_initial(crypto_frame(0, hello[:100]), dcid)
    two = seal_initial(crypto_frame(100, hello[100:]), dcid, packet_number=1)
    assert initial_sni(one) is None  # the name is past the first datagram's part
    connection = ClientInitials()
    assert connection.add(two)
    assert connection.sni is None  # a hole at offset 0
    assert connection.add(one)
    assert connection.sni == "b" * 60 + ".vendor.example"
    assert connection.add(b"garbage") == []


def test_other_connections_are_kept_apart() -> None:
    hello = hello_message("first.example")
    connection = ClientInitials()
    connection.add(seal_initial(crypto_frame(0, hello[:40]), b"\x01" * 8))
    connection.add(seal_initial(crypto_frame(40, hello_message("other.example")[40:]), b"\x02" * 8))
    assert connection.sni is None
    connection.add(seal_initial(crypto_frame(40, hello[40:]), b"\x01" * 8, packet_number=1))
    assert connection.sni == "first.example"


def test_not_client_initials() -> None:
    hello = crypto_frame(0, hello_message("a.example"))
    server = seal_initial(hello, b"\x01" * 8, secret_label="server in")
    assert parse_initial(server) is None
    no_sni = parse_initial(seal_initial(crypto_frame(0, hello_message(None)), b"\x01" * 8))
    assert no_sni is not None and no_sni.client_hello is not None and no_sni.sni is None
    unknown_version = bytearray(seal_initial(hello, b"\x01" * 8))
    unknown_version[1:5] = b"\x1a\x2b\x3c\x4d"  # no version this reads
    assert parse_initial(bytes(unknown_version)) is None
    version_negotiation = b"\xc0\x00\x00\x00\x00\x08" + b"\x01" * 8 + b"\x00" + b"\x00\x00\x00\x01"
    assert parse_initial(version_negotiation) is None
    retry = b"\xf0\x00\x00\x00\x01\x08" + b"\x01" * 8 + b"\x00" + bytes(40)
    assert parse_initial(retry) is None
    short_header = b"\x40" + bytes(60)
    assert parse_initial(short_header) is None
    assert parse_initial(b"") is None
    assert parse_initial(b"\x16\x03\x01\x00\x10" + bytes(16)) is None


# --- fuzz ---------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=1300))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert parse_initial(data) is None or data[0] & 0x80 or data[9:11] == b"Q0"
    initial_sni(data)
    decrypt_initials(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_initials_never_raise(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from([RFC9001_A2, RFC9369_A2]))
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(0, 6))):
        index = data.draw(st.integers(0, 60))  # the header, where a flip changes the parse
        damaged[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    result = parse_initial(bytes(damaged[:cut]))
    assert result is None or result.sni in (None, "example.com")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=1400), st.booleans())
def test_random_bytes_never_raise_in_any_version_reader(data: bytes, from_server: bool) -> None:
    """Every reader of every version, and the flow state, on bytes from anyone."""
    gquic.cleartext_packet(data)
    gquic.parse_chlo(data)
    gquic.chlo_complete(data)
    may_hold_initial(data)
    unread_version(data)
    connection = QuicConnection()
    connection.client_initial(QUIC_V1, data[:8])
    if data:
        assert 0 < connection.searched(data, from_server) <= len(data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damaged_google_packets_never_raise(data: st.DataObject) -> None:
    packet = bytearray(google_q043_packet(b"\x07" * 8, chlo("a.example")))
    for _ in range(data.draw(st.integers(0, 8))):
        packet[data.draw(st.integers(0, 120))] = data.draw(st.integers(0, 255))
    result = gquic.cleartext_packet(bytes(packet[: data.draw(st.integers(0, len(packet)))]))
    for _, fragment in result.crypto if result else ():
        gquic.parse_chlo(fragment)


def test_a_chlo_cut_short_gives_the_tags_that_are_whole() -> None:
    message = chlo("a.vendor.example", user_agent="Chrome/1")
    whole = gquic.parse_chlo(message)
    assert whole == gquic.GoogleHello("a.vendor.example", "Chrome/1")
    assert gquic.chlo_complete(message) and not gquic.chlo_complete(message[:-1])
    cut = gquic.parse_chlo(message[:-1])  # the last value (sorted last: UAID) is cut
    assert cut is not None and cut.sni == "a.vendor.example" and cut.user_agent is None
    assert gquic.parse_chlo(b"SHLO" + message[4:]) is None


def test_later_initials_to_the_server_s_id_open_with_the_first_id_s_keys() -> None:
    """After the server's first Initial the client writes to the ID the server chose, but
    keeps the keys of its first DCID (RFC 9001 section 5.2), as Chrome does in Zeek's
    quic-decrypt-fail-google-de capture: the ClientHello's second half is in such a packet."""
    hello = hello_message("www.google.de")
    first_dcid, server_id = b"\xaa" * 8, b"\x5e" * 8
    first = seal_initial(crypto_frame(0, hello[:60]), first_dcid)
    second = seal_initial(
        crypto_frame(60, hello[60:]), server_id, packet_number=1, key_dcid=first_dcid
    )
    initials = ClientInitials()
    initials.add(first)
    assert not initials.hello_complete()
    [packet] = initials.add(second)
    assert packet.dcid == first_dcid and initials.hello_complete()
    assert initials.sni == "www.google.de"


def test_an_initial_after_retry_under_new_keys_stays_out_of_the_first_connection() -> None:
    hello = hello_message("www.google.de")
    first = seal_initial(crypto_frame(0, hello[:60]), b"\xaa" * 8)
    after_retry = seal_initial(crypto_frame(0, b"\x01" * 80), b"\x77" * 8)  # its own keys
    initials = ClientInitials()
    initials.add(first)
    [packet] = initials.add(after_retry)
    assert packet.dcid == b"\x77" * 8 and initials.crypto() == hello[:60]
