"""The one escaping function for strings from captures and databases."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benches.redaction.printable import printable
from tests.support.hostile_names import EVIL_OWNER, EVIL_OWNER_SHOWN


def test_escape_sequences_and_line_breaks_are_shown_not_obeyed() -> None:
    assert printable("Evil\x1b[31m\nCorp\r\t\x00\x7f\x9b") == (
        "Evil\\x1b[31m\\nCorp\\r\\t\\x00\\x7f\\x9b"
    )


def test_bidi_overrides_zero_width_and_lone_surrogates_are_escaped() -> None:
    assert printable("moc.\u202eevil\u200b\udcff") == "moc.\\u202eevil\\u200b\\udcff"
    assert printable("tag\U000e0041") == "tag\\U000e0041"


def test_printable_text_of_any_script_is_left_alone() -> None:
    for text in ("Chinanet", "Vendor Cloud Oy", "中国电信", "Telefónica", "SI…1", "a\\x1b"):
        assert printable(text) is text


@given(st.text())
def test_the_result_is_one_printable_line_and_escaping_twice_changes_nothing(text: str) -> None:
    shown = printable(text)
    assert shown.isprintable()
    assert printable(shown) == shown


def test_a_log_line_carrying_a_hostile_name_is_one_escaped_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from benches.redaction import log_records

    log_records.install(lambda text: text)
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("benches.test").info("owner of %s: %s", "1.2.3.4", EVIL_OWNER)
    finally:
        log_records.uninstall()
    assert caplog.messages == [f"owner of 1.2.3.4: {EVIL_OWNER_SHOWN}"]
    assert "\x1b" not in caplog.text and caplog.text.count("\n") == 1


@given(st.text())
def test_any_text_comes_out_printable_once_and_for_all(text: str) -> None:
    shown = printable(text)
    assert shown.isprintable() and printable(shown) == shown
    if text.isprintable():
        assert shown == text
