"""The capture filter, judged by libpcap: its verifier accepts the program, and its
interpreter keeps exactly the frames that libpcap's own compilation of the same tcpdump
expression keeps (``ether host M or ip host A or ip6 host B``).

No root and no socket: libpcap compiles for a "dead" Ethernet handle, and
``bpf_filter`` runs a program over bytes. libpcap comes with tshark, which
``./run test`` installs; without it these tests fail and say what to install (a
skip would hide a missing dependency in CI).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw

from benches.capture.bpf import host_filter, interface_has_mac, pack_program

PHONE_MAC = "02:00:00:00:02:01"
OTHER_MAC = "02:00:00:00:09:50"
GATEWAY_MAC = "02:00:00:00:00:fe"
PHONE_V4 = "192.168.8.21"
PHONE_V6 = "fd00::8:21"
DLT_EN10MB = 1


class BpfInsn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(BpfInsn))]


def _libpcap() -> ctypes.CDLL | None:
    for name in (ctypes.util.find_library("pcap"), "libpcap.so.1", "libpcap.so.0.8"):
        if name:
            try:
                return ctypes.CDLL(name)
            except OSError:
                continue
    return None


LIBPCAP = _libpcap()


@pytest.fixture
def needs_libpcap() -> None:
    if LIBPCAP is None:
        pytest.fail("libpcap is not installed: apt-get install tshark (./run test installs it)")


def ours(addresses: list[str], macs: list[str]) -> ctypes.Array[BpfInsn]:
    program = pack_program(host_filter(addresses, macs))
    return (BpfInsn * (len(program) // 8)).from_buffer_copy(program)


def compiled(expression: str) -> ctypes.Array[BpfInsn]:
    """libpcap's program for ``expression`` on Ethernet, copied out of libpcap."""
    assert LIBPCAP is not None
    LIBPCAP.pcap_open_dead.restype = ctypes.c_void_p
    handle = LIBPCAP.pcap_open_dead(DLT_EN10MB, 262144)
    program = BpfProgram()
    try:
        status = LIBPCAP.pcap_compile(
            ctypes.c_void_p(handle), ctypes.byref(program), expression.encode(), 1, 0xFFFFFFFF
        )
        assert status == 0, f"libpcap cannot compile {expression!r}"
        copy = (BpfInsn * program.bf_len)()
        ctypes.memmove(copy, program.bf_insns, ctypes.sizeof(copy))
        LIBPCAP.pcap_freecode(ctypes.byref(program))
        return copy
    finally:
        LIBPCAP.pcap_close(ctypes.c_void_p(handle))


def keeps(program: ctypes.Array[BpfInsn], frame: bytes) -> bool:
    assert LIBPCAP is not None
    data = ctypes.create_string_buffer(frame, len(frame))
    return LIBPCAP.bpf_filter(program, data, len(frame), len(frame)) != 0


def frames() -> list[bytes]:
    """Every mix of MACs (the phone's either way, or none) and addresses and carriers."""
    macs = [(PHONE_MAC, GATEWAY_MAC), (GATEWAY_MAC, PHONE_MAC), (OTHER_MAC, GATEWAY_MAC)]
    inner: list[Packet] = [
        IP(src=PHONE_V4, dst="203.0.113.5") / UDP(),
        IP(src="203.0.113.5", dst=PHONE_V4) / UDP(),
        IP(src="192.168.8.99", dst="203.0.113.5") / UDP(),
        IPv6(src=PHONE_V6, dst="2001:db8::5") / UDP(),
        IPv6(src="2001:db8::5", dst=PHONE_V6) / UDP(),
        IPv6(src="fd00::8:99", dst="2001:db8::5") / UDP(),
        ARP(psrc=PHONE_V4, pdst="192.168.8.1"),
        Raw(b"\x00" * 40),
    ]
    out = []
    for (src, dst), payload in itertools.product(macs, inner):
        out.append(bytes(Ether(src=src, dst=dst) / payload))
        out.append(bytes(Ether(src=src, dst=dst) / Dot1Q(vlan=5) / payload))
    out.append(bytes(Ether(src=PHONE_MAC, dst=GATEWAY_MAC))[:10])  # cut inside the MACs
    return out


@pytest.mark.usefixtures("needs_libpcap")
@pytest.mark.parametrize(
    ("addresses", "macs", "expression"),
    [
        ([PHONE_V4], [], f"ip host {PHONE_V4}"),
        ([PHONE_V4, PHONE_V6], [], f"ip host {PHONE_V4} or ip6 host {PHONE_V6}"),
        ([PHONE_V4], [PHONE_MAC], f"ether host {PHONE_MAC} or ip host {PHONE_V4}"),
        (
            [PHONE_V4, PHONE_V6],
            [PHONE_MAC],
            f"ether host {PHONE_MAC} or ip host {PHONE_V4} or ip6 host {PHONE_V6}",
        ),
        ([], [PHONE_MAC], f"ether host {PHONE_MAC}"),
    ],
)
def test_the_filter_keeps_what_libpcap_keeps(
    addresses: list[str], macs: list[str], expression: str
) -> None:
    assert LIBPCAP is not None
    program = ours(addresses, macs)
    assert LIBPCAP.bpf_validate(program, len(program)) == 1  # the kernel-style verifier
    reference = compiled(expression)
    kept = [keeps(program, frame) for frame in frames()]
    assert kept == [keeps(reference, frame) for frame in frames()]
    assert any(kept) and not all(kept)
    if macs:  # the point of the MAC: the phone's frames at any address, ARP included
        assert keeps(program, bytes(Ether(src=PHONE_MAC, dst=GATEWAY_MAC) / ARP()))


def test_a_mac_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a MAC address"):
        host_filter(["192.0.2.1"], ["02:00:00:00:02"])


def test_only_an_interface_with_a_hardware_address_has_a_mac(tmp_path: Path) -> None:
    for name, kind, address in [
        ("eth9", "1", "02:00:00:00:00:fe"),
        ("lo", "772", "00:00:00:00:00:00"),
        ("zero", "1", "00:00:00:00:00:00"),
        ("tun0", "65534", ""),
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "type").write_text(kind + "\n")
        (tmp_path / name / "address").write_text(address + "\n")
    assert [interface_has_mac(n, tmp_path) for n in ("eth9", "lo", "zero", "tun0", "nope")] == [
        True, False, False, False, False
    ]  # fmt: skip
    assert not interface_has_mac("lo")  # this machine's loopback
