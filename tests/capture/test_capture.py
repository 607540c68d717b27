"""The gateway capture on a real interface (loopback): filter, pcap, drops, death, permission."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scapy.utils import rdpcap

from benches.capture import sniffer
from benches.capture.process import Capture, CaptureStartError
from tests.support.caps import drop_net_raw

pytestmark = pytest.mark.live

PHONE = "127.0.2.201"
OTHER = "127.0.2.202"
SINK = "127.0.2.250"


def send_udp(source: str, payload: bytes, count: int = 1) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        for _ in range(count):
            sock.sendto(payload, (SINK, 9))


def test_capture_keeps_only_the_phones_packets(tmp_path: Path) -> None:
    capture = Capture("lo", [PHONE], tmp_path / "phone.pcap")
    capture.start()
    send_udp(PHONE, b"from-the-phone")
    send_udp(OTHER, b"from-another-phone")
    capture.stop()
    health = capture.health
    assert health is not None

    payloads = [bytes(packet) for packet in rdpcap(str(capture.pcap))]
    assert any(b"from-the-phone" in p for p in payloads)
    assert not any(b"from-another-phone" in p for p in payloads)
    assert health.died is False and health.kernel_drops == 0
    assert health.packets == len(payloads)
    assert not health.problems


def test_a_mac_on_loopback_changes_nothing(tmp_path: Path) -> None:
    # Loopback has no hardware address (its frames carry zeros): the filter is by address.
    capture = Capture("lo", [PHONE], tmp_path / "phone.pcap", macs=["02:00:00:00:02:01"])
    capture.start()
    send_udp(PHONE, b"from-the-phone")
    send_udp(OTHER, b"from-another-phone")
    capture.stop()
    payloads = [bytes(packet) for packet in rdpcap(str(capture.pcap))]
    assert any(b"from-the-phone" in p for p in payloads)
    assert not any(b"from-another-phone" in p for p in payloads)


def test_capture_matches_ipv6_addresses(tmp_path: Path) -> None:
    capture = Capture("lo", ["::1"], tmp_path / "v6.pcap")
    capture.start()
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"over-ipv6", ("::1", 9))
    send_udp(OTHER, b"over-ipv4")
    capture.stop()
    payloads = [bytes(packet) for packet in rdpcap(str(capture.pcap))]
    assert any(b"over-ipv6" in p for p in payloads)
    assert not any(b"over-ipv4" in p for p in payloads)


def test_pcap_is_owner_only(tmp_path: Path) -> None:
    capture = Capture("lo", [PHONE], tmp_path / "private.pcap")
    capture.start()
    capture.stop()
    assert stat.S_IMODE(os.stat(capture.pcap).st_mode) == 0o600


def test_killed_capture_is_reported_dead_and_keeps_its_evidence(tmp_path: Path) -> None:
    capture = Capture("lo", [PHONE], tmp_path / "killed.pcap")
    capture.start()
    send_udp(PHONE, b"before-the-kill", count=3)
    time.sleep(0.2)
    assert capture.pid is not None
    os.kill(capture.pid, signal.SIGKILL)
    capture.stop()
    health = capture.health
    assert health is not None and health.died
    assert "signal 9" in (health.error or "")
    assert health.packets >= 3  # whole records already on disk are counted
    assert any("capture died" in reason for reason in health.problems)
    assert len(rdpcap(str(capture.pcap))) == health.packets


def test_kernel_drops_are_counted(tmp_path: Path) -> None:
    """A capture that cannot keep up (here: frozen) loses packets in the kernel."""
    capture = Capture("lo", [PHONE], tmp_path / "flooded.pcap")
    capture.start()
    assert capture.pid is not None
    os.kill(capture.pid, signal.SIGSTOP)
    try:
        # Far more than the 4 MiB socket buffer can hold while nobody reads it.
        send_udp(PHONE, b"x" * 1400, count=20_000)
    finally:
        os.kill(capture.pid, signal.SIGCONT)
    capture.stop()
    health = capture.health
    assert health is not None and health.kernel_drops > 0
    assert any("kernel dropped" in reason for reason in health.problems)


def test_without_permission_the_sniffer_says_how_to_grant_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benches.capture.sniffer",
            "--iface",
            "lo",
            "--host",
            PHONE,
            "--out",
            str(tmp_path / "denied.pcap"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=drop_net_raw,
        check=False,
    )
    assert done.returncode == sniffer.EXIT_NO_PERMISSION
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "CAP_NET_RAW" in lines[0] and "setcap" in lines[0]


def test_unknown_interface_is_one_clear_line(tmp_path: Path) -> None:
    capture = Capture("nosuchif0", [PHONE], tmp_path / "x.pcap")
    with pytest.raises(CaptureStartError, match="cannot capture on interface .nosuchif0."):
        capture.start()
