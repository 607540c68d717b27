"""Java .properties text, as java.util.Properties reads it: ISO 8859-1 with \\uXXXX escapes.

Allure 2 reads environment.properties with java.util.Properties, so every
character outside printable ASCII, and every separator or comment character,
is escaped the way Properties.store would write it.
"""

from __future__ import annotations

from collections.abc import Mapping

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}
_UNESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def escape_property(text: str, *, key: bool = False) -> str:
    out = []
    for index, char in enumerate(text):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char in "=:#!" or (char == " " and (key or index == 0)):
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:  # outside printable ASCII: UTF-16 code units, as Properties.store writes them
            units = char.encode("utf-16-be")
            for start in range(0, len(units), 2):
                out.append(f"\\u{int.from_bytes(units[start : start + 2], 'big'):04x}")
    return "".join(out)


def properties_text(values: Mapping[str, str]) -> str:
    lines = [f"{escape_property(k, key=True)}={escape_property(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def parse_properties(text: str) -> dict[str, str]:
    """Read back what properties_text wrote: one key=value a line, # comments."""
    values = {}
    for line in text.splitlines():
        line = line.lstrip()
        if not line or line[0] in "#!":
            continue
        key, value = _split(line)
        values[_unescape(key)] = _unescape(value)
    return values


def _split(line: str) -> tuple[str, str]:
    index = 0
    while index < len(line):
        if line[index] == "\\":
            index += 2
            continue
        if line[index] in "=:":
            return line[:index], line[index + 1 :].lstrip(" ")
        index += 1
    return line, ""


def _unescape(text: str) -> str:
    units: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            follow = text[index + 1]
            if follow == "u":
                units.append(chr(int(text[index + 2 : index + 6], 16)))
                index += 6
                continue
            units.append(_UNESCAPES.get(follow, follow))
            index += 2
            continue
        units.append(char)
        index += 1
    # Surrogate pairs back into one character.
    return "".join(units).encode("utf-16", "surrogatepass").decode("utf-16")
