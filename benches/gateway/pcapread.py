"""Stream the packets of one pcap or pcapng file.

Records are read one at a time with scapy's raw readers, so memory stays flat
however large the capture is. Each record is dissected down to its transport
header (TCP/UDP) and no further: the payload stays raw bytes for the flow
layer and the protocol parsers, so scapy never guesses an application
protocol from a port number and no packet is dissected twice.

A file that cannot be read at all is a :class:`CaptureError` (one line naming
the file). A record that cannot be read or dissected inside an otherwise good
file is counted in :attr:`ReadStats.unreadable` and skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

# Importing these registers the link types (Ethernet, Linux cooked, raw IP,
# BSD loopback) and the IP/TCP/UDP dissectors with scapy.
import scapy.layers.inet6  # noqa: F401
import scapy.layers.l2  # noqa: F401
from scapy.config import conf
from scapy.error import Scapy_Exception
from scapy.layers.inet import TCP, UDP
from scapy.packet import Packet
from scapy.utils import RawPcapReader

PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4",
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x4d\x3c\xb2\xa1",
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"
PCAP_HEADER_LEN = 24
# Larger than any frame (loopback frames exceed 64 KiB); scapy's default cuts at 65535.
MAX_RECORD = 1 << 18
# Dissect no deeper than these: their payload stays a Raw layer holding the bytes.
STOP_AFTER = (TCP, UDP)


class CaptureError(Exception):
    """A capture file that cannot be read at all; str() is one line naming the file."""


@dataclass
class ReadStats:
    records: int = 0  # packet records seen, readable or not
    unreadable: int = 0  # records that could not be read or dissected (skipped)
    truncated: int = 0  # records captured shorter than they were on the wire (snaplen)


class PcapFile:
    """One capture file, opened and checked; iterate it for ``(frame, time, packet)``.

    Frame numbers start at 1 and count every record, readable or not, so they
    agree with Wireshark's "No." column. Iterating twice reopens the file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.stats = ReadStats()
        self._reader: Any = _open(self.path)

    def __enter__(self) -> PcapFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __iter__(self) -> Iterator[tuple[int, float, Packet]]:
        reader = self._reader if self._reader is not None else _open(self.path)
        self._reader = None
        self.stats = ReadStats()
        try:
            yield from self._records(reader)
        finally:
            reader.close()

    def _records(self, reader: Any) -> Iterator[tuple[int, float, Packet]]:
        stats = self.stats
        pcapng = hasattr(reader, "interfaces")
        while True:
            position = _tell(reader)
            try:
                # scapy's own iterator would cut every record at 65535 bytes.
                data, meta = reader._read_packet(size=MAX_RECORD)
            except EOFError:
                if _has_more(reader, position):
                    # A record header or block cut short: the file ends mid-record.
                    stats.records += 1
                    stats.unreadable += 1
                break
            except (Scapy_Exception, OSError, ValueError):
                stats.records += 1
                stats.unreadable += 1
                break
            stats.records += 1
            frame = stats.records
            if pcapng:
                linktype = meta.linktype
                timestamp = _pcapng_time(meta)
                captured = len(data)
            else:
                linktype = reader.linktype
                timestamp = meta.sec + meta.usec / (1e9 if reader.nano else 1e6)
                captured = meta.caplen
                if len(data) < meta.caplen:  # the file ends inside this record
                    stats.unreadable += 1
                    continue
            if meta.wirelen > captured:
                stats.truncated += 1
            packet = _dissect(linktype, data)
            if packet is None:
                stats.unreadable += 1
                continue
            yield frame, timestamp, packet


def read_packets(path: Path | str) -> PcapFile:
    """Open a pcap or pcapng file for streaming; raises CaptureError if it is unusable."""
    return PcapFile(path)


def _open(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise CaptureError(f"{path}: is a directory, not a capture file")
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror or e}") from None
    if size == 0:
        raise CaptureError(f"{path}: empty file, not a capture")
    if magic in PCAP_MAGICS and size < PCAP_HEADER_LEN:
        raise CaptureError(f"{path}: truncated pcap header ({size} of 24 bytes)")
    if magic not in PCAP_MAGICS and magic != PCAPNG_MAGIC and magic[:2] != GZIP_MAGIC:
        raise CaptureError(f"{path}: not a pcap or pcapng capture (starts with {magic.hex()})")
    try:
        reader = RawPcapReader(str(path))
    except (Scapy_Exception, EOFError, OSError, ValueError) as e:
        kind = "pcapng" if magic == PCAPNG_MAGIC else "pcap"
        raise CaptureError(f"{path}: unreadable {kind} header ({_one_line(e)})") from None
    if not hasattr(reader, "interfaces") and reader.linktype not in conf.l2types.num2layer:
        reader.close()
        raise CaptureError(f"{path}: unsupported link type {reader.linktype}")
    return reader


def _dissect(linktype: int, data: bytes) -> Packet | None:
    layer = conf.l2types.num2layer.get(linktype)
    if layer is None or not data:
        return None
    try:
        # scapy types this as one class; at run time it is an isinstance() check.
        packet: Packet = layer(data, stop_dissection_after=STOP_AFTER)  # type: ignore[arg-type]
    except Exception:  # scapy raises anything on hostile bytes
        return None
    return packet


def _pcapng_time(meta: Any) -> float:
    if meta.tshigh is None:  # simple packet blocks carry no timestamp
        return 0.0
    return float(((meta.tshigh << 32) + meta.tslow) / meta.tsresol)


def _tell(reader: Any) -> int | None:
    try:
        return int(reader.f.tell())
    except (OSError, ValueError, AttributeError):
        return None


def _has_more(reader: Any, position: int | None) -> bool:
    """Whether bytes remain after ``position``: EOF came mid-record, not between records."""
    if position is None:
        return False
    try:
        reader.f.seek(position, os.SEEK_SET)
        return bool(reader.f.read(1))
    except (OSError, ValueError, EOFError):
        return True


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
