"""Frozen dataclasses made by the thousand set their fields without the dataclass's
__init__ (object.__setattr__ once a field is most of their cost): IdentifierPattern,
Encoded and DnsQuery set one dict at once, FlowInfo (slots) calls each slot's setter.
They must stay the dataclasses they declare: the same fields in the same order, the
same defaults, frozen, equal and hashed by value, pickled, replaced."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from collections.abc import Callable

import pytest

from benches.analysis.attribution.names import DnsQuery
from benches.analysis.detection.base32 import Base32Fragment
from benches.analysis.detection.detector import IdentifierPattern
from benches.analysis.detection.encodings import Encoded
from benches.analysis.detection.forms import WORD, Suffix
from benches.analysis.network.streams import _FLOW_INFO_SLOTS, FlowInfo

CLASSES = [IdentifierPattern, Encoded, DnsQuery, FlowInfo]


@pytest.mark.parametrize("cls", CLASSES)
def test_the_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        assert parameter.default == (
            inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        ), field.name


def _pattern() -> IdentifierPattern:
    fragment = Base32Fragment(b"352", 2)
    return IdentifierPattern(
        "SER1", "imei", "352", "imei-15", "base32", b"abc", False, None, WORD, Suffix(2), fragment
    )


def test_an_identifier_pattern_holds_every_field_as_given() -> None:
    pattern = _pattern()
    assert list(vars(pattern)) == [f.name for f in dataclasses.fields(IdentifierPattern)]
    assert dataclasses.astuple(pattern) == (
        "SER1", "imei", "352", "imei-15", "base32", b"abc", False, None,
        (WORD.before, WORD.after, WORD.separators), (2, frozenset()), (b"352", 2),
    )  # fmt: skip
    short = IdentifierPattern("SER1", "imei", "352", "imei-15", "plain", b"352")
    assert (short.exact, short.reader, short.boundary, short.suffix, short.fragment) == (
        False, None, None, None, None,
    )  # fmt: skip


def test_a_flow_info_sets_each_slot_to_its_own_field() -> None:
    assert len(_FLOW_INFO_SLOTS) == len(dataclasses.fields(FlowInfo))
    info = FlowInfo("a.pcap", "tcp", "10.0.0.1", 40000, "10.0.0.2", 443)
    assert dataclasses.astuple(info) == ("a.pcap", "tcp", "10.0.0.1", 40000, "10.0.0.2", 443, False)
    assert FlowInfo("a.pcap", "udp", "::1", 1, "::2", 2, decrypted=True).decrypted is True
    assert not hasattr(info, "__dict__")  # still slots


def test_a_dns_query_holds_every_field_as_given() -> None:
    query = DnsQuery("a.example", "a.pcap", 7, 1.5, "10.0.0.1", "10.0.0.53")
    assert dataclasses.asdict(query) == {
        "name": "a.example", "pcap": "a.pcap", "packet": 7, "time": 1.5,
        "client_ip": "10.0.0.1", "server_ip": "10.0.0.53",
    }  # fmt: skip


MAKERS: list[Callable[[], object]] = [
    _pattern,
    lambda: Encoded("base32", b"abc", False, None, WORD, Suffix(2), None),
    lambda: DnsQuery("a.example", "a.pcap", 7, 1.5, "10.0.0.1", "10.0.0.53"),
    lambda: FlowInfo("a.pcap", "tcp", "10.0.0.1", 40000, "10.0.0.2", 443),
]


@pytest.mark.parametrize("make", MAKERS)
def test_frozen_equal_and_hashed_by_value_pickled_and_replaced(make: Callable[[], object]) -> None:
    one, two = make(), make()
    assert one == two and hash(one) == hash(two) and one is not two
    assert pickle.loads(pickle.dumps(one)) == one
    name = dataclasses.fields(one)[1].name  # type: ignore[arg-type]
    changed = dataclasses.replace(one, **{name: "other"})  # type: ignore[type-var]
    assert changed != one and getattr(changed, name) == "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(one, name, "x")
    assert repr(one).startswith(type(one).__name__ + "(")
