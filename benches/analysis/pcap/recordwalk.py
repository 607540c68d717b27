"""Which record walk reads pcap files: the compiled one, unless told otherwise.

``benches/analysis/pcap/_records.c`` walks a chunk's records in C; the loop in
:func:`benches.analysis.pcap.files._pcap_records` is the pure-Python reference,
and takes over at every record the C walk leaves (cut short, corrupt) and for
every record when there is no compiled walk. Both give the same records.

Given a flow table's :class:`Handlers`, the compiled walk also reads the
common packet in place, as :meth:`~benches.analysis.network.flows.FlowTable.ipv4`
would, and hands it to the table itself; only the other records reach the
Python loop, one at a time and in order. The pure-Python walk ignores the
handlers: the loop reads every record.

The compiled walk is used when the extension was built at install time (a C
compiler was there) and ``BENCH_PURE_PYTHON`` is not set to ``1``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benches.analysis.pcap.clock import Clock

# walk(buf, pos, frame, big_endian, scale, linktype, shard_index, shard_count, **handing)
#   -> (records, pos, frame, truncated); see _records.c.
Walk = Callable[..., tuple[list[Any], int, int, int]]
# What FlowTable.ipv4 calls: (key, frame, time, buf, start, end, size, count).
PacketHandler = Callable[[bytes, int, float, bytes, int, int, int, int], None]
PURE_PYTHON_ENV = "BENCH_PURE_PYTHON"
VERSION = 3  # _records.VERSION this Python side was written for


@dataclass(frozen=True, slots=True)
class Handlers:
    """Where the compiled walk hands a common TCP or UDP packet, read in place."""

    tcp: PacketHandler
    udp: PacketHandler
    clock: Clock | None = None  # its ``frame`` is set to the packet's frame first
    sweep_mask: int = 0  # a frame f with f & sweep_mask == 0 goes to the Python loop

    def arguments(self) -> dict[str, Any]:
        """The walk's keyword arguments."""
        return {"tcp": self.tcp, "udp": self.udp, "clock": self.clock,
                "sweep_mask": self.sweep_mask}  # fmt: skip


try:
    from benches.analysis.pcap import _records  # type: ignore[attr-defined]
except ImportError:  # not built: no C compiler at install time
    _records = None


def compiled_walk() -> Walk | None:
    """The C record walk, or None: not built, built from another version, or turned off."""
    if os.environ.get(PURE_PYTHON_ENV) == "1" or _records is None:
        return None
    if getattr(_records, "VERSION", None) != VERSION:  # an old build left in the tree
        return None
    walk: Walk = _records.walk
    return walk


def engine() -> str:
    """What reads pcap records here, in words (the benchmark prints it)."""
    if compiled_walk() is not None:
        return "C (benches.analysis.pcap._records)"
    if _records is None:
        return "pure Python (the C record walk was not built)"
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        return f"pure Python ({PURE_PYTHON_ENV}=1)"
    return "pure Python (the built C record walk is out of date: reinstall)"
