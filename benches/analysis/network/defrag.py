"""IPv4 and IPv6 fragment reassembly (RFC 791, RFC 8200), bounded and fail-closed.

A datagram is keyed by (source, destination, IPv4 protocol, identification);
for IPv6 the protocol is left out, as RFC 8200 says. It is whole once a last
fragment (no "more fragments") gives its length and the pieces cover every
byte before it. The reassembled packet belongs to the frame that completed
it, as Wireshark shows it ("Reassembled IPv4 in frame N").

Overlaps: a fragment that repeats bytes already held *with the same values*
is a retransmission and is fine. One that says something different is how
an evasion hides data from an inspector whose overlap policy differs from the
receiver's, so the whole datagram is given up, as RFC 5722 requires for IPv6
and Linux does for both. Given-up fragments are counted in
:attr:`Defragmenter.unreassembled`, which makes the verdict inconclusive.

Memory is bounded: a datagram not whole after :attr:`timeout` seconds of
capture time, the oldest datagrams beyond :attr:`max_datagrams`,
:attr:`max_bytes` or :attr:`max_pieces` (eight-byte fragments cost far more
than their bytes), one longer than 65,535 bytes, and whatever is still
incomplete when the capture ends are given up (and counted) too.

Work is bounded too: a datagram's pieces never overlap (a fragment adds only
the bytes no piece holds yet) and are kept sorted by offset, so a fragment is
checked against the pieces it overlaps, found by bisection, not against every
piece held; a datagram is put together once, when its pieces cover it.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, field

from benches.analysis.network.packets import IPV6_FRAGMENT, IpFragment, Packet, extension_headers

TIMEOUT = 60.0  # seconds of capture time (RFC 8200's reassembly timeout; Linux's ipfrag_time is 30)
MAX_DATAGRAMS = 4096
MAX_BYTES = 32 << 20
MAX_PIECES = 1 << 18  # pieces held across all datagrams (~100 bytes of memory each)
MAX_PAYLOAD = 65535


@dataclass(slots=True)
class _Datagram:
    first_time: float
    proto: int = -1  # from the fragment at offset 0
    pieces: dict[int, bytes] = field(default_factory=dict)  # offset -> data; never overlapping
    starts: list[int] = field(default_factory=list)  # the offsets of ``pieces``, sorted
    length: int | None = None  # payload length, from the last fragment
    count: int = 0  # fragments seen
    size: int = 0  # their IP bytes
    held: int = 0  # payload bytes held (the pieces never overlap: bytes covered)
    broken: bool = False  # conflicting overlap or oversized: will never be used


class Defragmenter:
    def __init__(
        self,
        timeout: float = TIMEOUT,
        max_datagrams: int = MAX_DATAGRAMS,
        max_bytes: int = MAX_BYTES,
        max_pieces: int = MAX_PIECES,
    ) -> None:
        self.timeout = timeout
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.max_pieces = max_pieces
        self.unreassembled = 0  # fragments given up: incomplete, conflicting, evicted
        self.reassembled = 0  # datagrams made whole
        self._pending: OrderedDict[tuple[bytes, bytes, int, int], _Datagram] = OrderedDict()
        self._held = 0
        self._pieces = 0

    def add(self, fragment: IpFragment, time: float) -> tuple[Packet, int] | None:
        """The whole packet and how many fragments made it, once ``fragment`` completes one."""
        self._expire(time)
        key = fragment.key
        datagram = self._pending.get(key)
        if datagram is None:
            datagram = self._pending[key] = _Datagram(time)
        datagram.count += 1
        datagram.size += fragment.size
        if datagram.broken:
            return None
        data = fragment.buffer[fragment.start : fragment.end]
        offset, stop = fragment.offset, fragment.offset + len(data)
        new = _new_parts(datagram, offset, data) if stop <= MAX_PAYLOAD else None
        if new is None:  # too long, or says something else than the pieces held
            self._break(datagram)
            return None
        if offset == 0:
            datagram.proto = fragment.proto
        if not fragment.more:
            starts = datagram.starts
            end = starts[-1] + len(datagram.pieces[starts[-1]]) if starts else 0
            if datagram.length not in (None, stop) or end > stop:
                self._break(datagram)
                return None
            datagram.length = stop
        for start, part in new:
            bisect.insort(datagram.starts, start)
            datagram.pieces[start] = part
            datagram.held += len(part)
            self._held += len(part)
        self._pieces += len(new)
        whole = _assemble(datagram)
        if whole is None:
            self._limit()
            return None
        del self._pending[key]
        self._held -= datagram.held
        self._pieces -= len(datagram.starts)
        self.reassembled += 1
        return self._packet(fragment, datagram, whole)

    def finish(self) -> None:
        """The capture ended: whatever is still incomplete never will be."""
        for datagram in self._pending.values():
            self.unreassembled += datagram.count
        self._pending.clear()
        self._held = self._pieces = 0

    def _packet(
        self, fragment: IpFragment, datagram: _Datagram, whole: bytes
    ) -> tuple[Packet, int] | None:
        proto, start = datagram.proto, 0
        if fragment.version == 6:
            walked = extension_headers(proto, whole, 0, len(whole))
            if walked is None or walked[0] == IPV6_FRAGMENT:
                self.unreassembled += datagram.count
                return None
            proto, start = walked
        packet = (proto, fragment.src, fragment.dst, whole, start, len(whole), datagram.size)
        return packet, datagram.count

    def _break(self, datagram: _Datagram) -> None:
        datagram.broken = True
        self._held -= datagram.held
        self._pieces -= len(datagram.starts)
        datagram.held = 0
        datagram.pieces.clear()
        datagram.starts.clear()

    def _expire(self, now: float) -> None:
        pending = self._pending
        while pending:
            key, oldest = next(iter(pending.items()))
            if now - oldest.first_time <= self.timeout:
                break
            self._drop(key)

    def _limit(self) -> None:
        while self._pending and (
            len(self._pending) > self.max_datagrams
            or self._held > self.max_bytes
            or self._pieces > self.max_pieces
        ):
            self._drop(next(iter(self._pending)))

    def _drop(self, key: tuple[bytes, bytes, int, int]) -> None:
        datagram = self._pending.pop(key)
        self.unreassembled += datagram.count
        self._held -= datagram.held
        self._pieces -= len(datagram.starts)


def _new_parts(datagram: _Datagram, offset: int, data: bytes) -> list[tuple[int, bytes]] | None:
    """The parts of ``data`` at ``offset`` that no piece holds yet, as (offset, bytes);
    None when it runs past the datagram's end or differs from a byte already held."""
    stop = offset + len(data)
    if datagram.length is not None and stop > datagram.length:
        return None  # past the end the last fragment gave
    starts, pieces = datagram.starts, datagram.pieces
    index = max(bisect.bisect_right(starts, offset) - 1, 0)
    position = offset  # the next byte of ``data`` not yet found held or new
    new = []
    while index < len(starts) and starts[index] < stop:
        start = starts[index]
        held = pieces[start]
        end = start + len(held)
        if end > position:
            if start > position:
                new.append((position, data[position - offset : start - offset]))
            low, high = max(position, start), min(stop, end)
            if held[low - start : high - start] != data[low - offset : high - offset]:
                return None
            position = high
        index += 1
    if position < stop:
        new.append((position, data[position - offset :]))
    return new


def _assemble(datagram: _Datagram) -> bytes | None:
    """The whole payload, once the pieces (which never overlap) cover all of it."""
    length = datagram.length
    if length is None or datagram.proto < 0 or datagram.held < length:
        return None
    pieces = datagram.pieces
    return b"".join([pieces[start] for start in datagram.starts])
