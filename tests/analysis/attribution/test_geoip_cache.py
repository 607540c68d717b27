"""The kept table of geoip2fast's data: used only when it is certainly the current data.

Every test keeps its tables in its own ``$XDG_CACHE_HOME`` and loads a copy of
the installed data file (the same data under another path: a table keyed by
one path is never used for another).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benches.analysis.attribution import geo, geoip_cache
from benches.analysis.attribution.geo import DATA_FILE, Geoip2fastSource
from benches.analysis.attribution.geoip_table import GeoipTable

ADDRESSES = [
    "8.8.8.8",
    "202.102.94.1",
    "13.126.129.32",
    "2001:4860:4860::8888",
    "240e::1",
    "0.0.0.1",
]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    geo._geoip2fast.cache_clear()
    yield folder
    geo._geoip2fast.cache_clear()


@pytest.fixture
def data(tmp_path: Path) -> str:
    """A copy of the installed data file, named by a path (as geoip2fast takes one)."""
    installed = geoip_cache.locate(DATA_FILE)
    assert installed is not None
    copy = tmp_path / "data" / DATA_FILE
    copy.parent.mkdir()
    shutil.copy(installed, copy)
    return str(copy)


def _fresh(data_file: str) -> Any:
    """What a new process would load for ``data_file``."""
    geo._geoip2fast.cache_clear()
    return geo._geoip2fast(data_file)


def _table_file(data_file: str) -> Path:
    path = geoip_cache.table_path(geoip_cache.data_key(data_file))
    assert path is not None
    return path


def _answers(data_file: str) -> list[geo.Signal]:
    source = Geoip2fastSource(data_file)
    return [source.lookup(ipaddress.ip_address(a)) for a in ADDRESSES]


def _kept(cache: Path, data: str) -> Path:
    """Load once with geoip2fast (which keeps a table); the table's path."""
    assert not isinstance(_fresh(data), GeoipTable)
    path = _table_file(data)
    assert path.is_file() and path.is_relative_to(cache)
    return path


def test_the_first_load_keeps_a_table_that_the_next_one_reads(cache: Path, data: str) -> None:
    assert geoip_cache.load(data) is None  # nothing kept yet: geoip2fast loads
    _kept(cache, data)
    by_reader = _answers(data)
    assert isinstance(_fresh(data), GeoipTable)
    assert _answers(data) == by_reader
    assert by_reader[0] == geo.Signal("US", "GOOGLE")


def test_the_metadata_is_the_same_from_the_table(cache: Path, data: str) -> None:
    """geo.info() (the sign-off's run metadata, the JSON's "geo") says the same."""
    _kept(cache, data)
    geo._geoip2fast.cache_clear()
    by_reader = Geoip2fastSource(data).info()
    geo._geoip2fast.cache_clear()
    _fresh(data)
    assert isinstance(geo._geoip2fast(data), GeoipTable)
    assert Geoip2fastSource(data).info() == by_reader
    assert by_reader["date"] == "2024-06-18"


def test_a_table_of_a_changed_data_file_is_not_used(cache: Path, data: str) -> None:
    _kept(cache, data)
    stamp = os.stat(data)
    os.utime(data, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    assert geoip_cache.load(data) is None
    assert not isinstance(_fresh(data), GeoipTable)  # geoip2fast, which keeps a new table
    assert isinstance(_fresh(data), GeoipTable)


def test_a_table_of_another_file_of_the_same_name_is_not_used(
    cache: Path, data: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """geoip2fast opens a bare name in the working folder first: so does the key."""
    monkeypatch.chdir(Path(data).parent)
    _kept(cache, DATA_FILE)  # the working folder's copy, kept
    assert geoip_cache.locate(DATA_FILE) == Path(data).resolve()
    assert isinstance(_fresh(DATA_FILE), GeoipTable)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # now the bare name is the installed package's file
    assert geoip_cache.locate(DATA_FILE) != Path(data).resolve()
    assert geoip_cache.load(DATA_FILE) is None


def test_a_data_file_changed_while_geoip2fast_read_it_keeps_no_table(
    cache: Path, data: str
) -> None:
    from geoip2fast import GeoIP2Fast

    key = geoip_cache.data_key(data)
    reader = GeoIP2Fast(geoip2fast_data_file=data, verbose=False)
    stamp = os.stat(data)
    os.utime(data, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    geoip_cache.store(reader, key)
    assert not _table_file(data).exists()
    geoip_cache.store(reader, geoip_cache.data_key(data))
    assert geoip_cache.load(data) is not None


@pytest.mark.parametrize("cut", [0, 17, 4096, -5, -1])
def test_a_truncated_table_is_not_used_and_is_made_again(cache: Path, data: str, cut: int) -> None:
    path = _kept(cache, data)
    size = path.stat().st_size
    os.truncate(path, cut % size)
    assert geoip_cache.load(data) is None
    assert not isinstance(_fresh(data), GeoipTable)
    assert path.stat().st_size == size
    assert isinstance(_fresh(data), GeoipTable)


@pytest.mark.parametrize("at", [0, 100, 5_000_000, -3])
def test_a_corrupt_table_is_not_used(cache: Path, data: str, at: int) -> None:
    path = _kept(cache, data)
    with open(path, "r+b") as file:
        file.seek(at % path.stat().st_size)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0x20]))
    assert geoip_cache.load(data) is None
    assert _answers(data) == _answers(data)  # and the fallback still answers


def test_a_table_others_may_write_is_not_used(cache: Path, data: str) -> None:
    path = _kept(cache, data)
    path.chmod(0o664)
    assert geoip_cache.load(data) is None
    path.chmod(0o644)
    assert geoip_cache.load(data) is not None


def test_a_link_at_the_tables_name_is_not_followed(cache: Path, data: str, tmp_path: Path) -> None:
    path = _kept(cache, data)
    moved = tmp_path / "moved.table"
    path.rename(moved)
    path.symlink_to(moved)
    assert geoip_cache.load(data) is None


def test_a_table_with_another_name_is_not_used(cache: Path, data: str, tmp_path: Path) -> None:
    path = _kept(cache, data)
    os.link(path, tmp_path / "other-name")
    assert geoip_cache.load(data) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_another_users_table_is_not_used(cache: Path, data: str) -> None:
    path = _kept(cache, data)
    os.chown(path, 4321, -1)
    assert geoip_cache.load(data) is None


def test_a_cache_folder_that_cannot_be_written_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    try:
        assert not isinstance(_fresh(data), GeoipTable)
        assert _answers(data)[0] == geo.Signal("US", "GOOGLE")
        assert not isinstance(_fresh(data), GeoipTable)
    finally:
        geo._geoip2fast.cache_clear()


def test_a_relative_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG rule: a relative $XDG_CACHE_HOME is invalid (it would follow the working
    folder)."""
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    path = geoip_cache.table_path({"data": ["/x"]})
    assert path is not None and path.is_absolute()


def test_while_another_process_makes_the_table_this_one_goes_on_without(
    cache: Path, data: str
) -> None:
    """The sign-off's workers start at once: one makes the table, the others do not wait."""
    import fcntl

    path = _table_file(data)
    path.parent.mkdir(parents=True)
    holder = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert not isinstance(_fresh(data), GeoipTable)
        assert _answers(data)[0] == geo.Signal("US", "GOOGLE")
        assert not path.exists()
    finally:
        os.close(holder)
    assert not isinstance(_fresh(data), GeoipTable)
    assert path.is_file()


def test_a_table_made_meanwhile_by_another_process_is_not_made_again(
    cache: Path, data: str
) -> None:
    from geoip2fast import GeoIP2Fast

    key = geoip_cache.data_key(data)
    reader = GeoIP2Fast(geoip2fast_data_file=data, verbose=False)
    path = _kept(cache, data)  # "another process" made it while this one loaded
    made = path.stat().st_ino
    geoip_cache.store(reader, key)
    assert path.stat().st_ino == made
    path.write_bytes(b"not a table")
    path.chmod(0o644)
    geoip_cache.store(reader, key)
    assert path.stat().st_ino != made and geoip_cache.load(data) is not None
