"""IdentifierPattern and Encoded set their fields in one dict, not the dataclass's
__init__ (a start-up cost: see their __init__). They must stay the dataclasses they
declare: the same fields in the same order, the same defaults, frozen, equal and
hashed by value."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from benches.analysis.detection.base32 import Base32Fragment
from benches.analysis.detection.detector import IdentifierPattern
from benches.analysis.detection.encodings import Encoded
from benches.analysis.detection.forms import WORD, Suffix


@pytest.mark.parametrize("cls", [IdentifierPattern, Encoded])
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


@pytest.mark.parametrize(
    "make",
    [_pattern, lambda: Encoded("base32", b"abc", False, None, WORD, Suffix(2), None)],
)
def test_frozen_equal_and_hashed_by_value_and_pickled(make) -> None:  # type: ignore[no-untyped-def]
    one, two = make(), make()
    assert one == two and hash(one) == hash(two) and one is not two
    assert pickle.loads(pickle.dumps(one)) == one
    assert dataclasses.replace(one, literal=b"abd") != one
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.literal = b"x"  # type: ignore[misc]
    assert repr(one).startswith(type(one).__name__ + "(")
