"""The virtual adbd's sync service (file_sync_protocol.h) and the phone's write rules."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from benches.sim.adbd.files import PhoneFiles
from benches.sim.adbd.sync import SyncProtocolError, serve_sync


def request(kind: bytes, argument: bytes) -> bytes:
    return kind + struct.pack("<I", len(argument)) + argument


def send(path: str, data: bytes, mode: int = 0o100644, chunk: int = 4096) -> bytes:
    wire = request(b"SEND", f"{path},{mode}".encode())
    for start in range(0, len(data), chunk):
        wire += request(b"DATA", data[start : start + chunk])
    return wire + b"DONE" + struct.pack("<I", 1_700_000_000)


def serve(files: PhoneFiles, wire: bytes) -> bytes:
    """Feed `wire` to the service as a host would, the answers it wrote."""
    position = 0
    answers: list[bytes] = []

    def read(size: int) -> bytes | None:
        nonlocal position
        if position + size > len(wire):
            return None
        data = wire[position : position + size]
        position += size
        return data

    serve_sync(files, read, answers.append)
    return b"".join(answers)


@pytest.fixture
def files(tmp_path: Path) -> PhoneFiles:
    (tmp_path / "phone" / "system/etc/security/cacerts").mkdir(parents=True)
    return PhoneFiles(tmp_path / "phone")


def test_a_push_to_data_local_tmp_is_written_with_its_mode(files: PhoneFiles) -> None:
    data = bytes(range(256)) * 600  # several DATA chunks
    assert serve(files, send("/data/local/tmp/ca.0", data) + b"QUIT\0\0\0\0") == b"OKAY\0\0\0\0"
    written = files.root / "data/local/tmp/ca.0"
    assert written.read_bytes() == data and written.stat().st_mode & 0o777 == 0o644


def test_stat_answers_mode_size_and_mtime_or_zeros(files: PhoneFiles) -> None:
    serve(files, send("/data/local/tmp/x", b"12345"))
    answer = serve(files, request(b"STAT", b"/data/local/tmp/x") + request(b"STAT", b"/nope"))
    first, second = answer[:16], answer[16:]
    assert first[:4] == b"STAT" and struct.unpack("<III", first[4:])[:2] == (0o100644, 5)
    assert second == b"STAT" + bytes(12)


def test_system_needs_adb_root_and_remount(files: PhoneFiles) -> None:
    wire = send("/system/etc/security/cacerts/c8750f0d.0", b"pem")
    refused = serve(files, wire)
    assert refused.startswith(b"FAIL") and b"Permission denied" in refused
    files.adbd_root = True
    assert b"Read-only file system" in serve(files, wire)
    files.system_writable = True
    assert serve(files, wire) == b"OKAY\0\0\0\0"
    # The APEX store stays read-only whatever adbd is.
    assert b"Read-only" in serve(files, send("/apex/com.android.conscrypt/cacerts/a.0", b"x"))


def test_a_path_cannot_climb_out_of_the_phone(files: PhoneFiles) -> None:
    answer = serve(files, send("/data/local/tmp/../../../../etc/passwd", b"x"))
    assert answer.startswith(b"FAIL")
    assert not (files.root.parent / "etc").exists()
    assert files.host_path("/../../x") == files.root / "x"


def test_an_oversized_data_chunk_is_a_protocol_error(files: PhoneFiles) -> None:
    wire = request(b"SEND", b"/data/local/tmp/x,33188") + b"DATA" + struct.pack("<I", 65537)
    with pytest.raises(SyncProtocolError):
        serve(files, wire + bytes(65537))


def test_a_tmpfs_and_a_bind_mount_last_until_power_is_lost(files: PhoneFiles) -> None:
    store, apex = "/system/etc/security/cacerts", "/apex/com.android.conscrypt/cacerts"
    (files.root / apex.lstrip("/")).mkdir(parents=True)
    (files.root / apex.lstrip("/") / "aaaaaaaa.0").write_bytes(b"public root")
    files.adbd_root = True
    files.mount_tmpfs(store)
    assert files.list(store) == []
    files.copy(f"{apex}/aaaaaaaa.0", store)
    files.write(f"{store}/bbbbbbbb.0", b"bench", 0o644)
    files.mount_bind(store, apex)
    assert files.list(apex) == ["aaaaaaaa.0", "bbbbbbbb.0"]
    files.unmount_all()
    assert files.list(apex) == ["aaaaaaaa.0"] and files.list(store) == []
