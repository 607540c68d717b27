"""The capture process: one per phone per cycle, run as `python -m benches.capture.sniffer`.

It reads the gateway interface through an AF_PACKET socket with a kernel
filter for the phone's addresses (and its MAC, where the interface has one)
and appends every frame to a pcap. It runs as
its own process so that a capture can die (or be killed) independently of the
bench, and the bench can tell: a dead capture is an inconclusive cycle.

Protocol with the bench (benches.capture.process):
- stdout line `ready` once the filter is attached and packets are flowing;
- on SIGTERM it drains what the kernel already queued, then prints one JSON
  line `{"packets": N, "kernel_drops": D}` and exits 0;
- without capture permission it prints one line on stderr and exits 3.

This module imports nothing heavy so that the capture starts in milliseconds.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path

from benches.capture.bpf import SNAPLEN, host_filter, interface_has_mac, pack_program
from benches.redaction.private_files import open_private

EXIT_NO_PERMISSION = 3
EXIT_BAD_INTERFACE = 4

_ETH_P_ALL = 0x0003
_SOL_PACKET = 263
_PACKET_STATISTICS = 6
_SO_ATTACH_FILTER = 26
_PACKET_OUTGOING = 4
_ARPHRD_LOOPBACK = 772
_LINKTYPE_ETHERNET = 1

PERMISSION_HELP = (
    "capturing on {iface} needs CAP_NET_RAW: run the bench as root, or grant it once with "
    "`sudo setcap cap_net_raw,cap_net_admin+eip {python}`"
)


class PcapWriter:
    """A pcap written record by record, readable even if the process is killed."""

    def __init__(self, path: Path) -> None:
        # Owner-only: the pcap holds the phone's raw identifiers.
        self._fd = open_private(path)
        header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, _LINKTYPE_ETHERNET)
        os.write(self._fd, header)

    def write(self, timestamp: float, frame: bytes) -> None:
        seconds = int(timestamp)
        micros = int((timestamp - seconds) * 1_000_000)
        record = struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame
        os.write(self._fd, record)  # one write per record: never half a header

    def close(self) -> None:
        os.close(self._fd)


def open_capture_socket(
    iface: str, addresses: list[str], macs: list[str] | None = None
) -> socket.socket:
    """The filtered socket. ``macs`` count only where the interface has a hardware
    address (loopback's frames carry zeros)."""
    # Protocol 0 receives nothing until bind(), so no unfiltered packet can
    # slip in between creating the socket and attaching the filter.
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    by_mac = macs if macs and interface_has_mac(iface) else []
    program = pack_program(host_filter(addresses, by_mac))
    c_program = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(c_program))
    sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
    sock.bind((iface, _ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    return sock


def kernel_statistics(sock: socket.socket) -> tuple[int, int]:
    """(packets, drops) since the last call; the kernel resets them on read."""
    packets, drops = struct.unpack("II", sock.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8))
    return packets, drops


class Sniffer:
    def __init__(self, sock: socket.socket, pcap: PcapWriter) -> None:
        self.sock = sock
        self.pcap = pcap
        self.packets = 0
        self.kernel_drops = 0
        self.stopping = False

    def run(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping:
            self._receive_one()
        self._drain()

    def _receive_one(self) -> bool:
        try:
            frame, address = self.sock.recvfrom(SNAPLEN)
        except (TimeoutError, BlockingIOError, InterruptedError):
            return False
        # On loopback every packet is seen leaving and arriving; keep one copy
        # (libpcap does the same).
        if address[2] == _PACKET_OUTGOING and address[3] == _ARPHRD_LOOPBACK:
            return True
        self.pcap.write(time.time(), frame)
        self.packets += 1
        return True

    def _drain(self) -> None:
        self.sock.setblocking(False)
        while self._receive_one():
            pass

    def statistics(self) -> dict[str, int]:
        _, drops = kernel_statistics(self.sock)
        self.kernel_drops += drops
        return {"packets": self.packets, "kernel_drops": self.kernel_drops}


class Arguments:
    """``--iface I --host A [--host B ...] [--mac M ...] --out FILE``, as
    benches.capture.process writes them. Read by hand: argparse is a sixth of this
    process's start-up, and a capture starts once per phone per cycle."""

    USAGE = "usage: python -m benches.capture.sniffer --iface I --host A [--mac M] --out FILE"

    def __init__(self, argv: list[str]) -> None:
        self.iface = ""
        self.hosts: list[str] = []
        self.macs: list[str] = []
        self.out = Path()
        values: dict[str, list[str]] = {"--iface": [], "--host": [], "--mac": [], "--out": []}
        words = iter(argv)
        for word in words:
            if word not in values:
                raise ValueError(f"unknown argument {word!r}")
            value = next(words, None)
            if value is None:
                raise ValueError(f"{word} needs a value")
            values[word].append(value)
        for single in ("--iface", "--out"):
            if len(values[single]) != 1:
                raise ValueError(f"{single} is needed once")
        if not values["--host"]:
            raise ValueError("--host is needed")
        self.iface, self.out = values["--iface"][0], Path(values["--out"][0])
        self.hosts, self.macs = values["--host"], values["--mac"]


def main(argv: list[str] | None = None) -> int:
    try:
        args = Arguments(sys.argv[1:] if argv is None else argv)
    except ValueError as error:
        print(f"{Arguments.USAGE}\nsniffer: error: {error}", file=sys.stderr)
        return 2

    try:
        sock = open_capture_socket(args.iface, args.hosts, args.macs)
    except PermissionError:
        print(PERMISSION_HELP.format(iface=args.iface, python=sys.executable), file=sys.stderr)
        return EXIT_NO_PERMISSION
    except OSError as error:
        print(f"cannot capture on interface {args.iface!r}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_INTERFACE

    sniffer = Sniffer(sock, PcapWriter(args.out))

    def request_stop(_signum: int, _frame: object) -> None:
        sniffer.stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print("ready", flush=True)
    sniffer.run()
    print(json.dumps(sniffer.statistics()), flush=True)
    sniffer.pcap.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
