"""The capture timestamps of the frames a cycle's findings name (crafted pcap files)."""

from __future__ import annotations

from pathlib import Path

from scapy.utils import wrpcap

from benches.analysis.pcap.timestamps import packet_times
from tests.support.pcaps import START, clean_boot, stamp


def test_packet_times_reads_the_frames_asked_for(tmp_path: Path) -> None:
    pcap = tmp_path / "c.pcap"
    wrpcap(str(pcap), stamp(clean_boot(), start=START, step=0.5))

    times = packet_times(pcap, {1, 3})

    assert times == {1: START, 3: START + 1.0}
