"""The bench's reader of `service call` output, against hand-written dumps and fuzzed ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benches.rack.identity.parcel import (
    ParcelError,
    ServiceError,
    UnreadableReply,
    parse_dump,
    parse_string_reply,
)
from benches.sim.phone.parcel import dump, exception_reply, hexdump, string_reply

# IMEI 352098100123452 as Android's `service call` prints it, written out by hand:
# status 0, length 15, then "3","5" → bytes 33 00 35 00 → the little-endian word 00350033.
IMEI_DUMP = """\
Result: Parcel(
  0x00000000: 00000000 0000000f 00350033 00300032 '........3.5.2.0.'
  0x00000010: 00380039 00300031 00310030 00330032 '9.8.1.0.0.1.2.3.'
  0x00000020: 00350034 00000032                   '4.5.2...        ')
"""
NULL_DUMP = "Result: Parcel(00000000 ffffffff   '........')\n"


def test_a_real_format_dump_reads_as_its_string() -> None:
    assert parse_string_reply(IMEI_DUMP) == "352098100123452"


def test_the_virtual_phone_prints_exactly_that_format() -> None:
    assert dump(string_reply("352098100123452")) == IMEI_DUMP
    assert dump(string_reply(None)) == NULL_DUMP


def test_null_and_empty_strings() -> None:
    assert parse_string_reply(NULL_DUMP) is None
    assert parse_string_reply(dump(string_reply(""))) == ""


def test_carriage_returns_of_a_pty_are_tolerated() -> None:
    assert parse_string_reply(IMEI_DUMP.replace("\n", "\r\n")) == "352098100123452"


def test_an_exception_is_a_service_error_with_its_name_and_message() -> None:
    output = dump(exception_reply(-1, "Package com.example does not belong to 2000"))
    with pytest.raises(ServiceError) as caught:
        parse_string_reply(output)
    assert str(caught.value) == ("SecurityException: Package com.example does not belong to 2000")


@pytest.mark.parametrize(
    "output, words",
    [
        ("service: Service iphonesubinfo does not exist\n", "does not exist"),
        ('Result: Parcel(Error: 0xffffffb6 "Not a data message")\n', "binder error"),
        ("Result: Parcel(NULL)\n", "empty"),
    ],
)
def test_failed_calls_are_service_errors(output: str, words: str) -> None:
    with pytest.raises(ServiceError, match=words):
        parse_string_reply(output)


@pytest.mark.parametrize(
    "output, words",
    [
        ("", "no `Result: Parcel"),
        ("/system/bin/sh: service: inaccessible or not found", "no `Result: Parcel"),
        (IMEI_DUMP.rsplit("\n  0x00000020", 1)[0] + ")", "does not fit"),  # last line lost
        (IMEI_DUMP.replace("0x00000010", "0x00000020"), "starts at 0x00000020"),
        (IMEI_DUMP.replace("00380039", "0038zz39"), "dump line 2 is not `0xOFFSET"),
        (IMEI_DUMP.replace("00310030 00330032", "00310030"), "dump line 2 has 3 words"),
        (IMEI_DUMP.replace("0000000f", "00000030"), "does not fit"),  # length beyond the data
        (IMEI_DUMP.replace("00000032                   '4.5.2...        '", "00000032"), "0x"),
        (IMEI_DUMP.replace("00000032 ", "00410032 "), "NUL terminator"),
        ("Result: Parcel(0000000 '....')", "8-digit hex words"),
        ("Result: Parcel(nonsense)", "not a Parcel dump"),
        ("Result: Parcel(00000000 '.......')", "not a one-line"),
        ("Result: Parcel(00000000    '....')", "inside a 4-byte int"),  # a void reply
    ],
)
def test_garbage_is_an_unreadable_reply_on_one_line(output: str, words: str) -> None:
    with pytest.raises(UnreadableReply) as caught:
        parse_string_reply(output)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message


def test_an_excerpt_of_garbage_never_shows_an_identifier() -> None:
    with pytest.raises(UnreadableReply) as caught:
        parse_string_reply("IMEI: 352098100123452 (slot 1)")
    assert "352098100123452" not in str(caught.value)
    assert "3520…452" in str(caught.value)


def test_bytes_after_the_string_are_refused() -> None:
    with pytest.raises(UnreadableReply, match="after the string"):
        parse_string_reply(dump(string_reply("35") + b"\x01\0\0\0"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=80)))
def test_fuzz_any_string_survives_the_round_trip(value: str | None) -> None:
    assert parse_string_reply(dump(string_reply(value))) == value


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text_reads_or_fails_with_a_parcel_error(output: str) -> None:
    try:
        parse_string_reply(output)
    except ParcelError as error:
        assert "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=96).map(lambda data: data + b"\0" * (-len(data) % 4)))
def test_fuzz_any_parcel_reads_or_fails_with_a_parcel_error(parcel: bytes) -> None:
    output = dump(parcel)
    if parcel:
        assert parse_dump(output) == parcel  # the dump itself always reads back
    try:
        parse_string_reply(output)
    except ParcelError as error:
        assert "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_a_damaged_dump_never_crashes_the_reader(data: st.DataObject) -> None:
    output = dump(string_reply("89358051000000000111"))
    start = data.draw(st.integers(0, len(output) - 1))
    end = data.draw(st.integers(start, min(len(output), start + 4)))
    damaged = output[:start] + data.draw(st.text(max_size=4)) + output[end:]
    try:
        value = parse_string_reply(damaged)
    except ParcelError as error:
        assert "\n" not in str(error)
    else:
        assert value is None or isinstance(value, str)


def test_hexdump_pads_the_last_line_like_libbinder() -> None:
    lines = hexdump(bytes(range(20))).split("\n")
    assert lines[0] == ""
    assert lines[2] == "  0x00000010: 13121110" + " " * 27 + " '....            '"
