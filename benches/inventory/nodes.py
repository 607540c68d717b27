"""Typed reading of composed YAML nodes, each error naming file, line and key.

The loader works on ``yaml.compose`` nodes rather than on ``safe_load``
output because only nodes remember where in the file they came from.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from yaml.constructor import SafeConstructor

from benches.inventory.errors import InventoryError
from benches.inventory.validators import InvalidValue

T = TypeVar("T")
Reader = Callable[["Cursor"], Any]

_TAG = "tag:yaml.org,2002:"
_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "an empty value (null)",
    "timestamp": "a date",
    "binary": "binary data",
    "merge": "a merge key (<<)",
    "map": "a mapping",
    "seq": "a list",
}
_READ_AS_NOT_TEXT = frozenset(_TAG + tag for tag in ("int", "float", "bool", "timestamp"))
# Used only for the int and float tags, whose constructors need no state.
_SCALARS = SafeConstructor()


def type_name(node: yaml.Node) -> str:
    tag = node.tag.removeprefix(_TAG)
    return _TYPE_NAMES.get(tag, f"a value tagged {tag}")


def shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Cursor:
    """One node of the document, with the file it came from and its key path."""

    node: yaml.Node
    file: str
    path: str = ""

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def error(self, message: str) -> InventoryError:
        return InventoryError(self.file, message, line=self.line, key=self.path)

    def child(self, node: yaml.Node, key: str) -> Cursor:
        return Cursor(node, self.file, f"{self.path}.{key}" if self.path else key)

    def is_null(self) -> bool:
        return self.node.tag == _TAG + "null"

    def described(self) -> str:
        """What the node is, for messages: ``an integer 0123``, ``a list``."""
        if isinstance(self.node, yaml.ScalarNode) and not self.is_null():
            return f"{type_name(self.node)} {shown(self.node.value)}"
        return type_name(self.node)

    def type_error(self, expected: str) -> InventoryError:
        got = self.described()
        if expected == "a string" and self.node.tag in _READ_AS_NOT_TEXT:
            # YAML 1.1 reads NO as false and 0123 as 83: quoting keeps the text.
            return self.error(
                f'expected a string, got {got}: quote it ("{shown(self.node.value)}")'
            )
        return self.error(f"expected {expected}, got {got}")

    def checked(self, check: Callable[[str], T]) -> T:
        """The string here, passed through a validator whose complaint names this line."""
        return self.apply(check, self.string())

    def apply(self, check: Callable[[Any], T], value: Any) -> T:
        try:
            return check(value)
        except InvalidValue as invalid:
            raise self.error(str(invalid)) from None

    def string(self) -> str:
        if not self._is_scalar("str"):
            raise self.type_error("a string")
        value: str = self.node.value
        return value

    def integer(self) -> int:
        if not self._is_scalar("int"):
            raise self.type_error("an integer")
        try:
            value: int = _SCALARS.construct_yaml_int(self.node)  # type: ignore[arg-type]
        except (ValueError, IndexError):  # IndexError: PyYAML on an explicit !!int ""
            raise self.error(f"{shown(self.node.value)} is not an integer") from None
        return value

    def number(self) -> float:
        """An integer or a finite float; booleans are not numbers."""
        if self._is_scalar("int"):
            value: float = self.integer()
        elif self._is_scalar("float"):
            try:
                value = _SCALARS.construct_yaml_float(self.node)  # type: ignore[arg-type]
            except (ValueError, IndexError):  # IndexError: PyYAML on an explicit !!float ""
                raise self.error(f"{shown(self.node.value)} is not a number") from None
        else:
            raise self.type_error("a number")
        try:
            number = float(value)
        except OverflowError:
            raise self.error(f"{shown(self.node.value)} is too large") from None
        if not math.isfinite(number):
            raise self.error(f"{self.node.value} is not a finite number")
        return number

    def items(self) -> list[Cursor]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.type_error("a list")
        return [
            Cursor(item, self.file, f"{self.path}[{index}]")
            for index, item in enumerate(self.node.value)
        ]

    def list_of(self, read: Callable[[Cursor], T]) -> tuple[T, ...]:
        return tuple(read(item) for item in self.items())

    def fields(
        self, required: Mapping[str, Reader], optional: Mapping[str, Reader] | None = None
    ) -> dict[str, Any]:
        """Read a mapping whose keys are all known: the values of the keys present.

        An optional key whose value is empty (null) counts as absent, so the
        model's default applies. Unknown keys are reported before missing
        ones, since a misspelt key usually explains the missing one.
        """
        optional = optional or {}
        entries = self._entries()
        for key, (key_cursor, _) in entries.items():
            if key not in required and key not in optional:
                raise key_cursor.error(_unknown_key_message(key, [*required, *optional]))
        for key in required:
            if key not in entries:
                raise self.child(self.node, key).error("required key is missing")
        values: dict[str, Any] = {}
        for key, (_, value) in entries.items():
            if key in optional and value.is_null():
                continue
            read = required.get(key) or optional[key]
            values[key] = read(value)
        return values

    def _entries(self) -> dict[str, tuple[Cursor, Cursor]]:
        """Key -> (cursor on the key, cursor on its value), refusing duplicate keys."""
        if not isinstance(self.node, yaml.MappingNode):
            raise self.type_error("a mapping")
        entries: dict[str, tuple[Cursor, Cursor]] = {}
        for key_node, value_node in self.node.value:
            key = self._key_text(key_node)
            key_cursor = self.child(key_node, key)
            if key in entries:
                first = entries[key][0].line
                raise key_cursor.error(f"duplicate key {key} (first at line {first})")
            entries[key] = (key_cursor, self.child(value_node, key))
        return entries

    def _key_text(self, key_node: yaml.Node) -> str:
        key_cursor = Cursor(key_node, self.file, self.path)
        if key_node.tag == _TAG + "merge":
            raise key_cursor.error("YAML merge keys (<<) are not supported: write the keys out")
        if not key_cursor._is_scalar("str"):
            raise key_cursor.error(f"keys must be strings, got {key_cursor.described()}")
        text: str = key_node.value
        return text

    def _is_scalar(self, tag: str) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag == _TAG + tag


def _unknown_key_message(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    named = key or "''"
    if close:
        return f"unknown key {named}; did you mean {close[0]}?"
    return f"unknown key {named}; known keys: {', '.join(known)}"
