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
capture time, the oldest datagrams beyond :attr:`max_datagrams` or
:attr:`max_bytes`, one longer than 65,535 bytes, and whatever is still
incomplete when the capture ends are given up (and counted) too.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from benches.analysis.network.packets import IPV6_FRAGMENT, IpFragment, Packet, extension_headers

TIMEOUT = 60.0  # seconds of capture time (RFC 8200's reassembly timeout; Linux's ipfrag_time is 30)
MAX_DATAGRAMS = 4096
MAX_BYTES = 32 << 20
MAX_PAYLOAD = 65535


@dataclass(slots=True)
class _Datagram:
    first_time: float
    proto: int = -1  # from the fragment at offset 0
    pieces: dict[int, bytes] = field(default_factory=dict)  # offset -> data
    length: int | None = None  # payload length, from the last fragment
    count: int = 0  # fragments seen
    size: int = 0  # their IP bytes
    held: int = 0  # payload bytes held
    broken: bool = False  # conflicting overlap or oversized: will never be used


class Defragmenter:
    def __init__(
        self,
        timeout: float = TIMEOUT,
        max_datagrams: int = MAX_DATAGRAMS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.timeout = timeout
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.unreassembled = 0  # fragments given up: incomplete, conflicting, evicted
        self.reassembled = 0  # datagrams made whole
        self._pending: OrderedDict[tuple[bytes, bytes, int, int], _Datagram] = OrderedDict()
        self._held = 0

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
        if stop > MAX_PAYLOAD or not _fits(datagram, offset, data):
            self._break(datagram)
            return None
        if offset == 0:
            datagram.proto = fragment.proto
        if not fragment.more:
            ends = (start + len(piece) for start, piece in datagram.pieces.items())
            if datagram.length not in (None, stop) or max(ends, default=0) > stop:
                self._break(datagram)
                return None
            datagram.length = stop
        grown = len(data) - len(datagram.pieces.get(offset, b""))
        if grown > 0:  # a longer copy at the same offset agrees with the shorter one
            datagram.pieces[offset] = data
            datagram.held += grown
            self._held += grown
        whole = _assemble(datagram)
        if whole is None:
            self._limit()
            return None
        del self._pending[key]
        self._held -= datagram.held
        self.reassembled += 1
        return self._packet(fragment, datagram, whole)

    def finish(self) -> None:
        """The capture ended: whatever is still incomplete never will be."""
        for datagram in self._pending.values():
            self.unreassembled += datagram.count
        self._pending.clear()
        self._held = 0

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
        datagram.held = 0
        datagram.pieces.clear()

    def _expire(self, now: float) -> None:
        pending = self._pending
        while pending:
            key, oldest = next(iter(pending.items()))
            if now - oldest.first_time <= self.timeout:
                break
            self._drop(key)

    def _limit(self) -> None:
        while self._pending and (
            len(self._pending) > self.max_datagrams or self._held > self.max_bytes
        ):
            self._drop(next(iter(self._pending)))

    def _drop(self, key: tuple[bytes, bytes, int, int]) -> None:
        datagram = self._pending.pop(key)
        self.unreassembled += datagram.count
        self._held -= datagram.held


def _fits(datagram: _Datagram, offset: int, data: bytes) -> bool:
    """Whether ``data`` at ``offset`` agrees with every byte already held."""
    stop = offset + len(data)
    if datagram.length is not None and stop > datagram.length:
        return False  # past the end the last fragment gave
    for start, held in datagram.pieces.items():
        low, high = max(start, offset), min(start + len(held), stop)
        if low < high and held[low - start : high - start] != data[low - offset : high - offset]:
            return False
    return True


def _assemble(datagram: _Datagram) -> bytes | None:
    length = datagram.length
    if length is None or datagram.proto < 0 or datagram.held < length:
        return None
    whole = bytearray(length)
    covered = 0
    for start in sorted(datagram.pieces):
        if start > covered:
            return None
        piece = datagram.pieces[start]
        whole[start : start + len(piece)] = piece
        covered = max(covered, start + len(piece))
    return bytes(whole) if covered >= length else None
