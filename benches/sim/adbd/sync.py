"""adbd's file sync service (`sync:`): STAT, SEND with DATA/DONE, answered OKAY or FAIL.

The wire is AOSP's file_sync_protocol.h: every request is a 4-byte id and a
little-endian u32, then that many bytes (a path; for SEND ``path,mode``);
DATA chunks are at most SYNC_DATA_MAX bytes; DONE's u32 is the file's mtime.
STAT answers ``STAT`` mode size mtime (all zero: nothing there). A failed push
answers FAIL and its message, as adbd does; QUIT ends the service.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from benches.sim.adbd.files import MAX_FILE, FileRefused, PhoneFiles

SYNC_DATA_MAX = 64 * 1024
MAX_PATH = 1024
Reader = Callable[[int], bytes | None]
Writer = Callable[[bytes], None]


class SyncProtocolError(Exception):
    pass


def serve_sync(files: PhoneFiles, read: Reader, write: Writer) -> None:
    """Answer sync requests until QUIT or the stream closes."""
    while True:
        header = _read_header(read)
        if header is None:
            return
        kind, length = header
        if kind == b"QUIT":
            return
        if kind not in (b"STAT", b"SEND") or length > MAX_PATH:
            raise SyncProtocolError(f"unexpected sync request {kind!r} ({length} bytes)")
        argument = read(length)
        if argument is None:
            return
        text = argument.decode("utf-8", errors="replace")
        if kind == b"STAT":
            mode, size, mtime = files.stat(text)
            write(b"STAT" + struct.pack("<III", mode, size, mtime))
        else:
            _receive(files, text, read, write)


def _read_header(read: Reader) -> tuple[bytes, int] | None:
    """A sync message's id and length (8 bytes: 4 ASCII, a little-endian u32), or None at
    the stream's end."""
    header = read(8)
    if header is None:
        return None
    return header[:4], struct.unpack("<I", header[4:])[0]


def _receive(files: PhoneFiles, spec: str, read: Reader, write: Writer) -> None:
    path, _, mode_text = spec.rpartition(",")
    if not path:
        path, mode_text = spec, "420"
    mode = int(mode_text) if mode_text.isdigit() else 0o644
    chunks: list[bytes] = []
    size = 0
    while True:
        header = _read_header(read)
        if header is None:
            return
        kind, length = header
        if kind == b"DONE":
            break
        if kind != b"DATA" or length > SYNC_DATA_MAX:
            raise SyncProtocolError(f"unexpected {kind!r} ({length} bytes) in a SEND")
        data = read(length)
        if data is None:
            return
        size += len(data)
        if size <= MAX_FILE:
            chunks.append(data)
    try:
        if size > MAX_FILE:
            raise FileRefused(f"{path}: file too large for this virtual phone")
        files.write(path, b"".join(chunks), mode)
    except FileRefused as refused:
        message = str(refused).encode()
        write(b"FAIL" + struct.pack("<I", len(message)) + message)
        return
    except OSError as error:
        message = f"remote couldn't create file: {error.strerror or error}".encode()
        write(b"FAIL" + struct.pack("<I", len(message)) + message)
        return
    write(b"OKAY" + struct.pack("<I", 0))
