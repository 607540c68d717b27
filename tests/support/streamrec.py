"""A FlowOpener that records every call a producer makes through the seam (streams.py).

Tests read captures into flows with it, to see exactly which bytes each
direction delivered, when, and where the gaps and stray copies were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scapy.packet import Packet

from benches.analysis.network.flows import FlowState
from benches.analysis.network.streams import FlowInfo
from benches.analysis.packet_loop import read_flows
from benches.analysis.pcap.files import read_packets
from benches.analysis.results import CaptureStats


@dataclass
class RecordedStream:
    chunks: list[tuple[int, bytes, int]] = field(default_factory=list)  # (offset, data, frame)
    gaps: list[int] = field(default_factory=list)
    strays: list[tuple[int, bytes, int]] = field(default_factory=list)
    datagrams: list[tuple[bytes, int]] = field(default_factory=list)
    idled: int = 0
    closed: bool = False

    def data(self, offset: int, chunk: bytes, frame: int, time: float) -> None:
        assert not self.closed, "data after close"
        expected = self.chunks[-1][0] + len(self.chunks[-1][1]) if self.chunks else None
        if expected is not None and not self.gaps_since(expected):
            assert offset == expected, f"data at {offset}, expected {expected}"
        self.chunks.append((offset, chunk, frame))

    def gaps_since(self, offset: int) -> bool:
        return any(g >= offset for g in self.gaps)

    def gap(self, offset: int) -> None:
        self.gaps.append(offset)

    def stray(self, offset: int, chunk: bytes, frame: int) -> None:
        self.strays.append((offset, chunk, frame))

    def datagram(self, chunk: bytes, frame: int, time: float) -> None:
        self.datagrams.append((chunk, frame))

    def idle(self) -> None:
        self.idled += 1

    def close(self) -> None:
        assert not self.closed, "closed twice"
        self.closed = True

    @property
    def payload(self) -> bytes:
        return b"".join(chunk for _, chunk, _ in self.chunks)


@dataclass
class RecordedFlow:
    info: FlowInfo
    to_server: RecordedStream = field(default_factory=RecordedStream)
    to_client: RecordedStream = field(default_factory=RecordedStream)
    closed: bool = False

    def close(self) -> None:
        assert self.to_server.closed and self.to_client.closed
        self.closed = True


@dataclass
class Recorder:
    flows: list[RecordedFlow] = field(default_factory=list)

    def open(self, info: FlowInfo) -> RecordedFlow:
        flow = RecordedFlow(info)
        self.flows.append(flow)
        return flow


def record(
    path: Path, phones: Sequence[str] = ()
) -> tuple[list[RecordedFlow], list[FlowState], CaptureStats]:
    recorder = Recorder()
    flows, stats = read_flows(read_packets(path), recorder, phones)
    return recorder.flows, flows, stats


def record_packets(tmp_path: Path, packets: Sequence[Packet]) -> list[RecordedFlow]:
    from tests.support.pcaps import write_pcap

    return record(write_pcap(tmp_path / "recorded.pcap", packets))[0]
