"""Stream the records of one pcap or pcapng file (optionally gzip'd), with our own parsing.

The file is read in chunks of :data:`CHUNK` bytes and records are cut out of
the chunk in place: a record is handed on as ``(buffer, start, end)``, so no
frame is copied on the way in. Memory stays flat however large the capture.
A pcap file's records are walked in C when the extension is built
(:mod:`~benches.analysis.pcap.recordwalk`); the loop here is the reference, and
takes every record the C walk leaves.

A file that cannot be read at all is a :class:`CaptureError` (one line naming
the file). A record that cannot be read inside an otherwise good file (a file
cut inside its last record, a corrupt record header) is counted in
:attr:`ReadStats.unreadable`; a corrupt header ends the file, since nothing
after it can be found again. pcapng: see :mod:`benches.analysis.pcap.pcapng`.

A gzip'd capture is read up to :data:`GZ_RATIO` times its size (at least
:data:`GZ_FLOOR`): gzip can say a thousand bytes in one, and the cost of
reading is in the bytes it says. Past that, reading stops and
:attr:`ReadStats.stopped` says why (the verdict cannot be a pass); what was read
is kept, findings included. Uncompressed, a file is read whole: its size is
what the person chose to hand over.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from benches.analysis.pcap import pcapng
from benches.analysis.pcap.linktypes import ETHERNET, LINK_TYPES
from benches.analysis.pcap.pcapng import READ_ERRORS
from benches.analysis.pcap.record import ReadStats, Record
from benches.analysis.pcap.recordwalk import Handlers, Walk, compiled_walk
from benches.analysis.pcap.shard import VXLAN, Shard, ipv4_head

PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
}
PCAPNG_MAGIC = pcapng.SHB
GZIP_MAGIC = b"\x1f\x8b"
PCAP_HEADER_LEN = 24
CHUNK = 1 << 18
# Larger than any frame (loopback frames exceed 64 KiB, the sniffer's snaplen is 256 KiB);
# a bigger length is a corrupt record header.
MAX_RECORD = 1 << 20
# Real captures compress 2-10x (headers repeat; payloads are mostly encrypted or
# compressed already); 16x leaves room for idle, repetitive captures. A gzip bomb
# says up to 1032x: 512 MiB from 2 MB of repeated records.
GZ_RATIO = 16
GZ_FLOOR = 32 << 20  # a small gzip'd capture is read whole up to this, whatever its ratio


class CaptureError(Exception):
    """A capture file that cannot be read at all; str() is one line naming the file."""


class PcapReader:
    """One capture file, opened and checked.

    ``records()`` streams :data:`Record` tuples; iterating the file itself
    gives ``(frame, time, frame bytes)``. Frame numbers start at 1 and count
    every record, readable or not, so they agree with Wireshark's "No."
    column. Reading again reopens the file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.stats = ReadStats()
        self._file: BinaryIO | None = None
        self._file, self._head = _open(self.path)

    def __enter__(self) -> PcapReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __iter__(self) -> Iterator[tuple[int, float, bytes]]:
        for frame, time, _link, buf, start, end in self.records():
            yield frame, time, buf[start:end]

    def records(
        self, shard: Shard | None = None, handlers: Handlers | None = None
    ) -> Iterator[Record]:
        """Every record; with ``shard``, none of the common packets (Ethernet, IPv4
        without options, TCP or UDP, not a fragment) of another shard's flows. With
        ``handlers``, the compiled walk (if any) hands the common packets it reads in place
        to them instead of yielding them (:mod:`~benches.analysis.pcap.recordwalk`)."""
        if self._file is None:
            self._file, self._head = _open(self.path)
        source, head = self._file, self._head
        self._file = None
        self.stats = ReadStats()
        if isinstance(source, _Expanding):
            source.stats = self.stats
        if head[:4] == PCAPNG_MAGIC:
            found = pcapng.records(source, head, self.stats)
            if shard is None:
                return found
            foreign = shard.foreign
            return (r for r in found if not foreign(r[2], r[3], r[4], r[5]))
        return _pcap_records(source, head, self.stats, shard, compiled_walk(), handlers)


def read_packets(path: Path | str) -> PcapReader:
    """Open a pcap or pcapng file for streaming; raises CaptureError if it is unusable."""
    return PcapReader(path)


def _pcap_records(
    source: BinaryIO,
    head: bytes,
    stats: ReadStats,
    shard: Shard | None = None,
    walk: Walk | None = None,
    handlers: Handlers | None = None,
) -> Iterator[Record]:
    """``walk``: the compiled record walk (:mod:`~benches.analysis.pcap.recordwalk`), which takes
    every complete, sound record of a chunk; this loop then takes the one it stopped at.
    Without it (None), this loop takes every record, and ``handlers`` are not used."""
    endian, scale = PCAP_MAGICS[head[:4]]
    linktype = struct.unpack_from(endian + "I", head, 20)[0] & 0xFFFF
    big_endian = endian == ">"
    shard_index, shard_count = (shard.index, shard.count) if shard is not None else (0, 0)
    handing = handlers.arguments() if handlers is not None else {}
    # Skipping another shard's packets here, before a record is made of them, halves
    # what they cost. This is Shard.foreign, inlined.
    sharded = shard is not None and linktype == ETHERNET
    known: dict[bytes, bool] = shard.known if shard is not None else {}
    owns_key = shard.owns_key if shard is not None else known.__contains__
    header = struct.Struct(endian + "IIII").unpack_from
    # read1: a gzip stream cut short loses only its last piece, not a whole chunk.
    read = _reading(getattr(source, "read1", source.read))
    buf = head[PCAP_HEADER_LEN:]
    pos = 0
    size = len(buf)
    frame = 0
    try:
        while True:
            if walk is not None and size - pos >= 16:
                records, pos, frame, truncated = walk(
                    buf, pos, frame, big_endian, scale, linktype, shard_index, shard_count,
                    **handing,
                )  # fmt: skip
                stats.truncated += truncated
                if records:
                    yield from records
                    continue  # the walk goes on after the records it gave back
            if size - pos < 16:
                more = read(CHUNK)
                if not more:
                    if size > pos:  # a record header cut short: the file ends mid-record
                        frame += 1
                        stats.unreadable += 1
                    break
                buf = buf[pos:] + more
                pos, size = 0, len(buf)
                continue
            seconds, fraction, caplen, wirelen = header(buf, pos)
            if caplen > MAX_RECORD:  # a corrupt header: nothing after it can be found
                frame += 1
                stats.unreadable += 1
                break
            end = pos + 16 + caplen
            if end > size:
                more = read(max(CHUNK, end - size))
                if not more:  # the file ends inside this record
                    frame += 1
                    stats.unreadable += 1
                    break
                buf = buf[pos:] + more
                pos, size = 0, len(buf)
                continue
            frame += 1
            if wirelen > caplen:
                stats.truncated += 1
            start = pos + 16
            pos = end
            if sharded and start + 38 <= end and buf[start + 12 : start + 14] == b"\x08\x00":
                first, fragment, proto = ipv4_head(buf, start + 14)
                if (
                    first == 0x45
                    and not fragment & 0x3FFF
                    and (proto == 6 or (proto == 17 and buf[start + 36 : start + 38] != VXLAN))
                ):
                    key = buf[start + 26 : start + 38]  # addresses and ports
                    owned = known.get(key)
                    if not (owns_key(key) if owned is None else owned):
                        continue
            yield frame, seconds + fraction * scale, linktype, buf, start, end
    except _FileBroke:  # not an error the handlers raised: they must not pass for one
        frame += 1
        stats.unreadable += 1
    finally:
        stats.records = frame
        source.close()


class _Expanding:
    """A gzip file read up to ``cap`` uncompressed bytes: past them it ends, and says why
    in ``stats.stopped``."""

    def __init__(self, source: gzip.GzipFile, path: Path, cap: int, size: int) -> None:
        self.source = source
        self.path = path
        self.cap = cap
        self.size = size
        self.given = 0
        self.stats = ReadStats()

    def read(self, n: int = -1) -> bytes:
        return self._counted(self.source.read, n)

    def read1(self, n: int = -1) -> bytes:
        return self._counted(self.source.read1, n)

    def _counted(self, read: Callable[[int], bytes], n: int) -> bytes:
        room = self.cap - self.given
        if room <= 0:
            if self.stats.stopped is None and read(1):  # more there: say so; else a clean end
                self.stats.stopped = (
                    f"capture {self.path.name} expands beyond {self.cap >> 20} MiB (a gzip'd "
                    f"capture is read up to {GZ_RATIO} times its size, at least "
                    f"{GZ_FLOOR >> 20} MiB): the rest was never read; gunzip it to read it all"
                )
            return b""
        data = read(room if n < 0 else min(n, room))
        self.given += len(data)
        return data

    def close(self) -> None:
        self.source.close()


class _FileBroke(Exception):
    """The file broke mid-read (a gzip stream cut short, EIO)."""


def _reading(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """``read``, raising :class:`_FileBroke` for the errors of a file that broke."""

    def more(size: int) -> bytes:
        try:
            return read(size)
        except READ_ERRORS as error:
            raise _FileBroke from error

    return more


def _open(path: Path) -> tuple[BinaryIO, bytes]:
    """The file, positioned after its first bytes (returned): the pcap header or pcapng SHB."""
    try:
        if path.is_dir():
            raise CaptureError(f"{path}: is a directory, not a capture file")
        source: BinaryIO = path.open("rb")
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror or e}") from None
    try:
        magic = source.read(4)
        if magic[:2] == GZIP_MAGIC:
            size = path.stat().st_size
            source.close()
            # Returned open: the caller reads it, record by record, and closes it.
            unzipped = gzip.open(path, "rb")  # noqa: SIM115
            source = _Expanding(unzipped, path, max(GZ_FLOOR, GZ_RATIO * size), size)  # type: ignore[assignment]
            magic = source.read(4)
        return source, _head(path, source, magic)
    except READ_ERRORS as e:
        source.close()
        raise CaptureError(f"{path}: unreadable ({_one_line(e)})") from None
    except BaseException:
        source.close()
        raise


def _head(path: Path, source: BinaryIO, magic: bytes) -> bytes:
    if not magic:
        raise CaptureError(f"{path}: empty file, not a capture")
    if magic in PCAP_MAGICS:
        head = magic + _read(path, source, PCAP_HEADER_LEN - 4)
        if len(head) < PCAP_HEADER_LEN:
            raise CaptureError(f"{path}: truncated pcap header ({len(head)} of 24 bytes)")
        endian = PCAP_MAGICS[magic][0]
        linktype = struct.unpack_from(endian + "I", head, 20)[0] & 0xFFFF
        if linktype not in LINK_TYPES:
            raise CaptureError(f"{path}: unsupported link type {linktype}")
        return head
    if magic == PCAPNG_MAGIC:
        try:
            return pcapng.read_section_header(magic, lambda n: _read(path, source, n))
        except ValueError as e:
            raise CaptureError(f"{path}: unreadable pcapng header ({_one_line(e)})") from None
    raise CaptureError(f"{path}: not a pcap or pcapng capture (starts with {magic.hex()})")


def _read(path: Path, source: BinaryIO, n: int) -> bytes:
    try:
        return source.read(n)
    except READ_ERRORS as e:
        raise CaptureError(f"{path}: unreadable ({_one_line(e)})") from None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
