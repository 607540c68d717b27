"""geoip2fast's data as flat arrays: written once, read back in milliseconds.

geoip2fast keeps its networks in a gzip'd pickle of lists of Python ints:
loading it (inflate, then unpickling about three million ints) costs about a
third of a second of CPU in every process that places an address. A
:class:`GeoipTable` holds exactly what the bench reads from that reader (a
network's first address and prefix length, its country code, its AS name, and
the data's ``source_info``) as arrays, so the bytes of a table load with a few
copies, and a lookup is a ``bisect`` over them.

A table answers as the reader does, quirks included: the reader's two-level
index is one sorted list here (:func:`encode` refuses data where the two could
differ), a network's last address is worked out the reader's way (the IPv4
sizes for an address up to 2**32, the IPv6 ones above; the AS networks by the
database's kind), private networks and unknown ones get the reader's codes.
:func:`encode` reads the loaded reader itself (its module's lists), so a table
copies the data geoip2fast answered from, never a reading of the file of our own.

The bytes are a header (JSON: the format, the caller's key, the codes, the
arrays' lengths), a payload of arrays in machine order, each 8-aligned so that
it is read in place (a memoryview cast, no copy), and the CRC-32 of all of it.
:meth:`GeoipTable.decode` refuses anything that is not a whole table of the
same key (:class:`TableError`); the cache (:mod:`geoip_cache`) then falls back
to geoip2fast.
"""

from __future__ import annotations

import json
import mmap
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from typing import Any, TypeAlias

FORMAT = 1
MAGIC = b"bench-geoip-table\n"
_HEADER_SIZE = 4  # the header's length, big-endian, after the magic
_ALIGN = 8  # columns start at multiples of 8 (from the table's first byte): read in place
_CHECK_SIZE = 4  # the CRC-32 of everything before it, big-endian, at the end
_LOW = (1 << 64) - 1
_MAX_IPV4 = 1 << 32  # the reader's MAX_IPv4: addresses up to it (inclusive) use IPv4 sizes
# The reader's numIPsv4 / numIPsv6: the size of a network by prefix length, then 0.
_SIZES_V4 = (*(1 << (32 - n) for n in range(33)), 0)
_SIZES_V6 = (*(1 << (128 - n) for n in range(129)), 0)
# Typecodes of fixed sizes (a C int and long long are 4 and 8 bytes wherever CPython runs;
# the key records them anyway).
_TYPECODES = {"I": 4, "Q": 8, "B": 1, "H": 2}
_PRIVATE_IDS = 16  # the reader's is_private: country name indexes below 16


# A column: an array when made, a memoryview of the table's bytes when read back.
Column: TypeAlias = "array[int] | memoryview"


class TableError(ValueError):
    """Bytes that are no usable table, or data a table cannot copy exactly."""


class Networks:
    """Sorted networks: first addresses (IPv4-sized ones apart, the rest as two 64-bit
    halves), prefix lengths, and one value index each. (A plain class: a dataclass costs
    a millisecond of every process's start.)"""

    __slots__ = ("small", "high", "low", "prefix", "value")

    def __init__(
        self, small: Column, high: Column, low: Column, prefix: Column, value: Column
    ) -> None:
        self.small = small  # first addresses below 2**32 ("I")
        self.high = high  # the others' upper 64 bits ("Q")
        self.low = low  # ... and lower 64 bits ("Q")
        self.prefix = prefix  # prefix lengths ("B")
        self.value = value  # index of the country code or AS name ("H" or "I")

    def at_or_below(self, address: int) -> int:
        """Index of the last network whose first address is ``address`` or below (-1: none)."""
        small = self.small
        if not self.high or address < ((self.high[0] << 64) | self.low[0]):
            return bisect_right(small, address) - 1
        upper, lower = address >> 64, address & _LOW
        start = bisect_left(self.high, upper)
        end = bisect_right(self.high, upper, start)
        found = bisect_right(self.low, lower, start, end)
        return len(small) + (found if found > start else start) - 1

    def first(self, index: int) -> int:
        small = len(self.small)
        if index < small:
            return int(self.small[index])
        return (self.high[index - small] << 64) | self.low[index - small]

    def arrays(self) -> tuple[Column, ...]:
        return (self.small, self.high, self.low, self.prefix, self.value)


class GeoipTable:
    """What geoip2fast's reader answers for an address: a country code and an AS name."""

    def __init__(
        self,
        header: dict[str, Any],
        countries: Networks,
        owners: Networks | None,
        names: tuple[memoryview | bytes, Column],
    ) -> None:
        self.source_info: str = header["source_info"]
        self._codes: list[str] = header["codes"]
        self._not_found: str = header["not_found"]
        self._internal_error: str = header["internal_error"]
        self.invalid: str = header["invalid"]
        self._ipv6: bool = header["ipv6"]
        self._countries = countries
        self._owners = owners
        self._names, self._name_ends = names

    def answer(self, address: int) -> tuple[str, str]:
        """(country_code, asn_name) as the reader's ``lookup`` of that address gives them."""
        countries = self._countries
        index = countries.at_or_below(address)
        prefix = countries.prefix[index]
        sizes = _SIZES_V4 if address <= _MAX_IPV4 else _SIZES_V6
        if index < 0 or prefix >= len(sizes):
            return self._internal_error, ""  # the reader's lookup fails inside
        if address > countries.first(index) + sizes[prefix] - 1:
            return self._not_found, ""
        return self._codes[countries.value[index]], self._owner(address)

    def _owner(self, address: int) -> str:
        owners = self._owners
        if owners is None:
            return ""
        index = owners.at_or_below(address)
        prefix = owners.prefix[index]
        # The reader sizes AS networks by the database's kind, not the address's.
        sizes = _SIZES_V6 if self._ipv6 else _SIZES_V4
        if index < 0 or prefix >= len(sizes):
            return ""
        if address > owners.first(index) + sizes[prefix] - 1:
            return ""
        name = owners.value[index]
        start = self._name_ends[name - 1] if name else 0
        return str(self._names[start : self._name_ends[name]], "utf-8")

    @classmethod
    def decode(cls, data: bytes | mmap.mmap, key: dict[str, Any]) -> GeoipTable:
        """The table in ``data``, read in place; TableError unless it is a whole table made
        for ``key``."""
        view = memoryview(data)
        start = len(MAGIC) + _HEADER_SIZE
        if len(data) < start + _CHECK_SIZE or data[: len(MAGIC)] != MAGIC:
            raise TableError("not a geoip table")
        body = view[:-_CHECK_SIZE]
        if zlib.crc32(body) != int.from_bytes(view[-_CHECK_SIZE:], "big"):
            raise TableError("truncated or corrupt")
        try:
            end = start + int.from_bytes(data[len(MAGIC) : start], "big")
            header = json.loads(bytes(body[start:end]))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise TableError("another format")
            if header.get("key") != key:
                raise TableError("made from other data")
            return cls._from_parts(header, body[end:])
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as error:
            if isinstance(error, TableError):
                raise
            raise TableError(f"unreadable ({type(error).__name__})") from error

    @classmethod
    def _from_parts(cls, header: dict[str, Any], payload: memoryview) -> GeoipTable:
        columns: list[Column] = []
        offset = 0
        for typecode, count in header["arrays"]:
            size = count * _TYPECODES[typecode]
            if offset + size > len(payload):
                raise TableError("truncated or corrupt")
            columns.append(payload[offset : offset + size].cast(typecode))
            offset += _padded(size)
        if offset + header["names"] != len(payload):
            raise TableError("truncated or corrupt")
        countries = Networks(*columns[:5])
        owners = Networks(*columns[5:10]) if header["asn"] else None
        return cls(header, countries, owners, (payload[offset:], columns[-1]))


def encode(reader: Any, key: dict[str, Any]) -> bytes:
    """The table of a loaded geoip2fast reader (country, or country + ASN, data).

    Raises TableError when the reader's data is of a kind a table would not
    answer exactly as the reader does (a city database, an unsorted index, ...).
    """
    if not _fixed_sizes():
        raise TableError("this Python's array sizes differ")
    lists = vars(sys.modules[type(reader).__module__])
    if reader.city or not reader.country:
        raise TableError("only country databases are copied")
    country_names: list[str] = lists["mainListNamesCountry"]
    codes = []
    for number, entry in enumerate(country_names):
        parts = entry.split(":")
        if len(parts) != 2:
            raise TableError(f"country entry {entry!r} is not CODE:NAME")
        codes.append(reader.error_code_private_networks if number < _PRIVATE_IDS else parts[0])
    countries = _networks(
        lists["mainIndex"],
        lists["mainListFirstIP"],
        lists["mainListNetlength"],
        lists["mainListIDCountryCodes"],
        "H",
        len(codes),
    )
    columns = list(countries.arrays())
    names = b""
    ends = array("I")
    if reader.asn:
        asn_names: list[str] = lists["mainListNamesASN"]
        owners = _networks(
            lists["mainIndexASN"],
            lists["mainListFirstIPASN"],
            lists["mainListNetlengthASN"],
            lists["mainListIDASN"],
            "I",
            len(asn_names),
        )
        columns += owners.arrays()
        encoded = [name.encode("utf-8") for name in asn_names]
        total = 0
        for name in encoded:
            total += len(name)
            ends.append(total)
        names = b"".join(encoded)
    columns.append(ends)
    payload: list[bytes | memoryview] = []  # joined once: a table is tens of megabytes
    for column in columns:
        size = len(column) * column.itemsize
        payload += (memoryview(column), bytes(_padded(size) - size))
    payload.append(names)
    header = {
        "format": FORMAT,
        "key": key,
        "source_info": str(reader.source_info),
        "codes": codes,
        "not_found": reader.error_code_network_not_found,
        "internal_error": reader.error_code_lookup_internal_error,
        "invalid": reader.error_code_invalid_ip,
        "ipv6": bool(reader.ipv6),
        "asn": bool(reader.asn),
        "arrays": [[_typecode(column), len(column)] for column in columns],
        "names": len(names),
    }
    text = json.dumps(header, ensure_ascii=True).encode("ascii")
    before = len(MAGIC) + _HEADER_SIZE + len(text)
    text += b" " * (_padded(before) - before)  # the payload starts 8-aligned
    pieces = [MAGIC, len(text).to_bytes(_HEADER_SIZE, "big"), text, *payload]
    check = 0
    for piece in pieces:
        check = zlib.crc32(piece, check)
    return b"".join([*pieces, check.to_bytes(_CHECK_SIZE, "big")])


def key_fields() -> dict[str, Any]:
    """What a table's bytes depend on besides the data: the machine's byte order."""
    return {"format": FORMAT, "byteorder": sys.byteorder}


def _typecode(column: Column) -> str:
    return column.typecode if isinstance(column, array) else column.format


def _padded(size: int) -> int:
    """``size`` rounded up to a multiple of 8: every column starts 8-aligned."""
    return -(-size // _ALIGN) * _ALIGN


def _fixed_sizes() -> bool:
    return all(array(code).itemsize == size for code, size in _TYPECODES.items())


def _networks(
    index: list[int],
    chunks: list[list[int]],
    prefixes: list[list[int]],
    values: list[list[int]],
    value_type: str,
    value_count: int,
) -> Networks:
    """The reader's chunked lists as one sorted list, which its two-level ``bisect`` walks
    the same way when every chunk starts at its index entry and the whole is sorted."""
    if not index or index[0] != 0 or len(chunks) != len(index):
        raise TableError("the index does not start at address 0")
    for number, chunk in enumerate(chunks):
        if not chunk or chunk[0] != index[number]:
            raise TableError(f"chunk {number} does not start at its index entry")
        if len(prefixes[number]) != len(chunk) or len(values[number]) != len(chunk):
            raise TableError(f"chunk {number}: lists of different lengths")
    firsts = [address for chunk in chunks for address in chunk]
    if any(a >= b for a, b in zip(firsts, firsts[1:], strict=False)) or firsts[-1] >> 128:
        raise TableError("network starts are not sorted 128-bit addresses")
    split = bisect_left(firsts, _MAX_IPV4)
    try:
        small = array("I", firsts[:split])
        high = array("Q", [address >> 64 for address in firsts[split:]])
        low = array("Q", [address & _LOW for address in firsts[split:]])
        prefix = array("B", [n for chunk in prefixes for n in chunk])
        value = array(value_type, [n for chunk in values for n in chunk])
    except (OverflowError, TypeError) as error:
        raise TableError("an address, prefix length or index out of range") from error
    if value and max(value) >= value_count:
        raise TableError("a network names no entry")
    return Networks(small, high, low, prefix, value)
