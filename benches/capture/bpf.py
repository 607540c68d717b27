"""A classic-BPF program that keeps only the packets to or from given addresses.

The kernel runs it on the capture socket, so the bench never copies other
traffic crossing the gateway, and the kernel's drop counter counts only the
phone's packets. We assemble the program ourselves rather than compile a
tcpdump expression because that needs libpcap, which a fresh machine lacks.

Frames are Ethernet (a real gateway port, and Linux's loopback). IPv4 source
and destination sit at bytes 26 and 30; IPv6 at 22 and 38. 802.1Q-tagged
frames are not matched by address: put the capture on the untagged interface.

Given the phone's MAC too, a frame to or from it is kept whatever it carries
(`ether host M or ip host A or ip6 host B`, as tcpdump writes it): a phone
that DHCP moved to another address is still captured. Only where the
interface has a hardware address (:func:`interface_has_mac`): loopback's
frames carry zeros. The tests run the program in libpcap's own interpreter
against what libpcap compiles from that expression.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from pathlib import Path

SNAPLEN = 262144

_LD_H_ABS = 0x28
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_RET_K = 0x06

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_IPV6 = 0x86DD
_IPV4_ADDRESS_OFFSETS = (26, 30)
_IPV6_ADDRESS_OFFSETS = (22, 38)
_MAC_OFFSETS = (0, 6)  # Ethernet destination, source
_ARPHRD_ETHER = 1


class Instruction:
    # A plain class, not a dataclass: the sniffer imports this module at every capture's
    # start, and `dataclasses` (with `inspect`) is a fifth of that start-up.
    __slots__ = ("code", "k", "jump_true", "jump_false")

    def __init__(
        self, code: int, k: int, jump_true: str | None = None, jump_false: str | None = None
    ) -> None:
        self.code = code
        self.k = k
        self.jump_true = jump_true  # label, or None for "next instruction"
        self.jump_false = jump_false


class _Assembler:
    def __init__(self) -> None:
        self.lines: list[Instruction | str] = []  # a str is a label

    def label(self, name: str) -> None:
        self.lines.append(name)

    def emit(self, code: int, k: int, jt: str | None = None, jf: str | None = None) -> None:
        self.lines.append(Instruction(code, k, jt, jf))

    def assemble(self) -> list[tuple[int, int, int, int]]:
        positions: dict[str, int] = {}
        index = 0
        for line in self.lines:
            if isinstance(line, str):
                positions[line] = index
            else:
                index += 1
        program: list[tuple[int, int, int, int]] = []
        for line in self.lines:
            if isinstance(line, str):
                continue
            here = len(program)
            program.append(
                (
                    line.code,
                    _offset(positions, line.jump_true, here),
                    _offset(positions, line.jump_false, here),
                    line.k,
                )
            )
        return program


def _offset(positions: dict[str, int], label: str | None, here: int) -> int:
    if label is None:
        return 0
    distance = positions[label] - here - 1
    if not 0 <= distance <= 255:
        raise ValueError("too many addresses for one capture filter (jump out of range)")
    return distance


def host_filter(
    addresses: Sequence[str], macs: Sequence[str] = ()
) -> list[tuple[int, int, int, int]]:
    """The program for `ether host M or ip host A or ip6 host B ...` on Ethernet frames."""
    parsed = [ipaddress.ip_address(a) for a in addresses]
    if not parsed and not macs:
        raise ValueError("a capture filter needs at least one address")
    v4 = [int(a) for a in parsed if a.version == 4]
    v6 = [a.packed for a in parsed if a.version == 6]

    asm = _Assembler()
    for number, mac in enumerate(_mac_bytes(m) for m in macs):
        high, low = struct.unpack("!IH", mac)
        for offset in _MAC_OFFSETS:
            miss = f"mac{number}-{offset}"
            asm.emit(_LD_W_ABS, offset)
            asm.emit(_JEQ_K, high, None, miss)
            asm.emit(_LD_H_ABS, offset + 4)
            asm.emit(_JEQ_K, low, "accept", None)
            asm.label(miss)
    asm.emit(_LD_H_ABS, 12)
    asm.emit(_JEQ_K, _ETHERTYPE_IPV4, "ipv4", None)
    asm.emit(_JEQ_K, _ETHERTYPE_IPV6, "ipv6", "reject")

    asm.label("ipv4")
    for offset in _IPV4_ADDRESS_OFFSETS:
        asm.emit(_LD_W_ABS, offset)
        for address in v4:
            asm.emit(_JEQ_K, address, "accept", None)
    asm.emit(_RET_K, 0)

    asm.label("ipv6")
    candidate = 0
    for offset in _IPV6_ADDRESS_OFFSETS:
        for packed in v6:
            words = struct.unpack("!4I", packed)
            miss = f"miss{candidate}"
            for i, word in enumerate(words):
                asm.emit(_LD_W_ABS, offset + 4 * i)
                last = i == len(words) - 1
                asm.emit(_JEQ_K, word, "accept" if last else None, miss)
            asm.label(miss)
            candidate += 1
    asm.label("reject")
    asm.emit(_RET_K, 0)
    asm.label("accept")
    asm.emit(_RET_K, SNAPLEN)
    return asm.assemble()


def _mac_bytes(text: str) -> bytes:
    digits = text.replace(":", "").replace("-", "")
    mac = bytes.fromhex(digits) if len(digits) == 12 else b""
    if len(mac) != 6:
        raise ValueError(f"not a MAC address: {text!r}")
    return mac


def interface_has_mac(interface: str, sys_net: Path = Path("/sys/class/net")) -> bool:
    """Whether ``interface`` is Ethernet with a hardware address of its own (not loopback,
    whose frames carry zeros); False when the system does not say."""
    try:
        kind = (sys_net / interface / "type").read_text().strip()
        address = (sys_net / interface / "address").read_text().strip()
    except (OSError, ValueError):  # ValueError: a name with a NUL in it
        return False
    return kind == str(_ARPHRD_ETHER) and address.replace(":", "").strip("0") != ""


def pack_program(program: list[tuple[int, int, int, int]]) -> bytes:
    """The instructions as the kernel's `struct sock_filter` array."""
    return b"".join(struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in program)
