"""environment.properties text: escaped as java.util.Properties reads it, and read back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from benches.report.allure.properties import parse_properties, properties_text


def test_properties_escape_what_java_would_misread() -> None:
    text = properties_text({"key with=sign": " IMEI 3520…452\nnext #1 !x: y\\z"})
    assert text == "key\\ with\\=sign=\\ IMEI 3520\\u2026452\\nnext \\#1 \\!x\\: y\\\\z\n"
    assert text.isascii()


@given(st.dictionaries(st.text(min_size=1), st.text()))
def test_properties_round_trip(values: dict[str, str]) -> None:
    values = {k: v for k, v in values.items() if not _has_lone_surrogate(k + v)}
    assert parse_properties(properties_text(values)) == values


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)
