"""The bench's table of geoip2fast's data answers exactly as geoip2fast's reader does.

The reader is the real one on the installed package's data; the table is made
from it and read back from its bytes, as the cache reads it.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.attribution.geo import DATA_FILE, geoip2fast_signal
from benches.analysis.attribution.geoip_table import GeoipTable, TableError, encode

KEY = {"format": 1, "data": ["test", 1, 2, 3, 4]}
_TOP = 1 << 128


@pytest.fixture(scope="module")
def reader() -> Any:
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file=DATA_FILE, verbose=False)


@pytest.fixture(scope="module")
def table_bytes(reader: Any) -> bytes:
    return encode(reader, KEY)


@pytest.fixture(scope="module")
def table(table_bytes: bytes) -> GeoipTable:
    return GeoipTable.decode(table_bytes, KEY)


def _lists(reader: Any) -> dict[str, Any]:
    return vars(sys.modules[type(reader).__module__])


# Every STRIDE-th network, and the first and last of every chunk of the reader's lists
# (where an index slip would show). All of them, 3.7 million points, agreed once (see
# /work/notes/geo.md) at 50 s of CPU: too much for every run of the suite.
STRIDE = 13


def _boundaries(firsts: list[list[int]], prefixes: list[list[int]], large: bool) -> list[int]:
    """start-1, start, start+1, end and end+1 of the chosen networks of one family."""
    points: set[int] = set()
    number = 0
    for chunk, lengths in zip(firsts, prefixes, strict=True):
        last = len(chunk) - 1
        for place, (first, length) in enumerate(zip(chunk, lengths, strict=True)):
            number += 1
            if (first >= 1 << 32) != large:
                continue
            if number % STRIDE and place not in (0, last):
                continue
            end = first + (1 << ((128 if large else 32) - length)) - 1
            points.update((first - 1, first, first + 1, end, end + 1))
    return sorted(p for p in points if 0 <= p < _TOP)


def _text(address: int) -> str:
    if address < 1 << 32:
        return socket.inet_ntoa(address.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, address.to_bytes(16, "big"))


def _mismatches(reader: Any, table: GeoipTable, points: list[int]) -> Iterator[str]:
    for point in points:
        detail = reader.lookup(_text(point))
        theirs = (detail.country_code, detail.asn_name)
        ours = table.answer(point)
        if theirs != ours:
            yield f"{_text(point)}: geoip2fast {theirs}, table {ours}"


@pytest.mark.parametrize(
    ("networks", "large"),
    [
        ("country", False),
        ("country", True),
        ("asn", False),
        ("asn", True),
    ],
)
def test_every_network_boundary_answers_as_geoip2fast(
    reader: Any, table: GeoipTable, networks: str, large: bool
) -> None:
    lists = _lists(reader)
    suffix = "" if networks == "country" else "ASN"
    points = _boundaries(
        lists[f"mainListFirstIP{suffix}"], lists[f"mainListNetlength{suffix}"], large
    )
    assert len(points) > 10_000  # the real data, IPv4 and IPv6 alike
    wrong = list(_mismatches(reader, table, points))
    assert not wrong, f"{len(wrong)} of {len(points)}: {wrong[:5]}"


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.integers(0, (1 << 32) - 1), st.integers(0, _TOP - 1)))
def test_any_address_answers_as_geoip2fast(reader: Any, table: GeoipTable, address: int) -> None:
    assert not list(_mismatches(reader, table, [address]))


@settings(max_examples=1000, deadline=None)
@given(
    st.ip_addresses(),
    st.one_of(st.none(), st.sampled_from(["1", "eth0", "0"])),
)
def test_the_bench_reads_the_same_signal_from_both(
    reader: Any,
    table: GeoipTable,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    scope: str | None,
) -> None:
    """As geo.py asks: from the address object (a scoped IPv6 one the reader calls invalid)."""
    if scope is not None and isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(f"{address}%{scope}")
    assert geoip2fast_signal(table, address) == geoip2fast_signal(reader, address)


def test_an_ipv6_spelling_of_a_small_number_answers_as_the_reader(
    reader: Any, table: GeoipTable
) -> None:
    """ "::102:304" is the number of 1.2.3.4: the reader looks it up among IPv4 networks."""
    for text in ("::102:304", "::ffff:808:808", "::1:0:0", "::8.8.8.8", "100::1"):
        address = ipaddress.IPv6Address(text)
        assert geoip2fast_signal(table, address) == geoip2fast_signal(reader, address), text


def test_the_table_keeps_the_readers_source_info(reader: Any, table: GeoipTable) -> None:
    assert table.source_info == reader.source_info
    assert table.source_info.startswith("MAXMIND:GeoLite2")


# --- bytes that are no table ------------------------------------------------------


def test_a_table_of_other_data_is_refused(table_bytes: bytes) -> None:
    with pytest.raises(TableError, match="other data"):
        GeoipTable.decode(table_bytes, {**KEY, "data": ["test", 1, 2, 3, 5]})


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_truncated_table_is_refused(table_bytes: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(table_bytes) - 1))
    with pytest.raises(TableError):
        GeoipTable.decode(table_bytes[:cut], KEY)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_changed_byte_anywhere_is_refused(table_bytes: bytes, data: st.DataObject) -> None:
    """The header too: a changed country code there would place addresses wrongly."""
    at = data.draw(st.integers(0, len(table_bytes) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(table_bytes)
    changed[at] ^= flip
    with pytest.raises(TableError):
        GeoipTable.decode(bytes(changed), KEY)


def test_the_country_codes_in_the_header_are_checked(table_bytes: bytes) -> None:
    at = table_bytes.index(b'"CN"')
    changed = table_bytes[:at] + b'"CM"' + table_bytes[at + 4 :]
    with pytest.raises(TableError, match="corrupt"):
        GeoipTable.decode(changed, KEY)


# --- data a table would not answer exactly ------------------------------------------


def _fake_reader(monkeypatch: pytest.MonkeyPatch, reader: Any, **changes: Any) -> Any:
    """A reader whose module lists are the real ones with ``changes``."""
    module = types.ModuleType("fake_geoip2fast")
    module.__dict__.update({k: v for k, v in _lists(reader).items() if k.startswith("main")})
    module.__dict__.update(changes)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    fake = type("FakeReader", (), {"__module__": module.__name__})()
    for name in ("country", "city", "asn", "ipv6", "source_info"):
        setattr(fake, name, getattr(reader, name))
    for name in ("private_networks", "network_not_found", "lookup_internal_error", "invalid_ip"):
        setattr(fake, f"error_code_{name}", getattr(reader, f"error_code_{name}"))
    return fake


def test_the_real_lists_through_a_stand_in_reader_make_the_same_table(
    monkeypatch: pytest.MonkeyPatch, reader: Any, table_bytes: bytes
) -> None:
    assert encode(_fake_reader(monkeypatch, reader), KEY) == table_bytes


def test_a_chunk_that_does_not_start_at_its_index_entry_is_not_copied(
    monkeypatch: pytest.MonkeyPatch, reader: Any
) -> None:
    index = list(_lists(reader)["mainIndex"])
    index[3] += 1
    with pytest.raises(TableError, match="chunk 3"):
        encode(_fake_reader(monkeypatch, reader, mainIndex=index), KEY)


def test_unsorted_networks_are_not_copied(monkeypatch: pytest.MonkeyPatch, reader: Any) -> None:
    chunks = [list(chunk) for chunk in _lists(reader)["mainListFirstIP"]]
    chunks[0][1], chunks[0][2] = chunks[0][2], chunks[0][1]
    with pytest.raises(TableError, match="not sorted"):
        encode(_fake_reader(monkeypatch, reader, mainListFirstIP=chunks), KEY)


def test_a_city_database_is_not_copied(monkeypatch: pytest.MonkeyPatch, reader: Any) -> None:
    fake = _fake_reader(monkeypatch, reader)
    fake.city, fake.country = True, False
    with pytest.raises(TableError, match="only country"):
        encode(fake, KEY)
