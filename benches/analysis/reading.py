"""One capture, packet by packet, into flows: the analyzer's hot loop.

records (:mod:`~benches.analysis.pcap.files`) → IP packets from raw bytes
(:mod:`~benches.analysis.network.packets`), fragments made whole
(:mod:`~benches.analysis.network.defrag`) → the flow table
(:mod:`~benches.analysis.network.flows`), which hands every flow's bytes to whatever
``opener`` opens for it (the seam, :mod:`~benches.analysis.network.streams`).
"""

from __future__ import annotations

from collections.abc import Collection

from benches.analysis.network.defrag import Defragmenter
from benches.analysis.network.flows import Flow, FlowTable
from benches.analysis.network.packets import ETHERNET, NOT_IP, Fragment, parse
from benches.analysis.network.streams import FlowOpener
from benches.analysis.pcap.files import PcapFile
from benches.analysis.results import CaptureStats

SWEEP_MASK = 0xFFF  # look for idle flows every 4,096 frames
IPV4_ETHERTYPE = b"\x08\x00"


def read_flows(
    capture: PcapFile, opener: FlowOpener, phones: Collection[str] = ()
) -> tuple[list[Flow], CaptureStats]:
    """Every flow of the capture (closed, in the order each began) and the capture's counts."""
    table = FlowTable(str(capture.path), opener, phones)
    defrag = Defragmenter()
    add, ipv4 = table.add, table.ipv4
    handlers = table.handlers(SWEEP_MASK)  # what ipv4 reads, the compiled walk reads itself
    non_ip = unreadable = 0
    with capture:
        for frame, time, linktype, buf, start, end in capture.records(None, handlers):
            if not frame & SWEEP_MASK:
                table.sweep(time)
            if (
                linktype == ETHERNET
                and buf[start + 12 : start + 14] == IPV4_ETHERTYPE
                and ipv4(frame, time, buf, start + 14, end)
            ):
                continue  # the common case, read in place
            packet = parse(linktype, buf, start, end)
            if type(packet) is tuple:  # a Packet; a Fragment is a NamedTuple
                add(frame, time, packet)  # type: ignore[arg-type]  # narrowed just above
            elif type(packet) is Fragment:
                whole = defrag.add(packet, time)
                if whole is not None:
                    add(frame, time, *whole)
            elif packet == NOT_IP:
                non_ip += 1
            else:
                unreadable += 1
    defrag.finish()
    flows = table.finish()
    stats = capture.stats
    counts = CaptureStats(
        pcap=str(capture.path),
        packets=stats.records,
        unreadable=stats.unreadable + unreadable + table.counters.unreadable,
        truncated=stats.truncated,
        fragments=defrag.unreassembled,
        non_ip=non_ip,
    )
    return sorted(flows, key=lambda f: f.first_frame), counts
