"""http.blank_line_end finds the end of a head's blank line as the regex it replaces
(_BLANK_LINE.search(data, start).end()) does, for any bytes and any start."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from benches.analysis.protocols.http import _BLANK_LINE, blank_line_end

# Dense in the bytes that matter: CR, LF, and one that is neither.
DATA = st.binary(max_size=40) | st.lists(st.sampled_from([b"\r", b"\n", b"a"]), max_size=40).map(
    b"".join
)


def _reference(data: bytes, start: int) -> int | None:
    found = _BLANK_LINE.search(data, start)
    return found.end() if found is not None else None


@settings(max_examples=2000)
@given(DATA, st.integers(min_value=0, max_value=45))
@example(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody", 0)
@example(b"a\n\r\nb\n\n", 0)
@example(b"a\n\nb\n\r\n", 0)
@example(b"\r\n\r\n", 1)
@example(b"\n\r\r\n\n", 0)
def test_the_same_end_as_the_regex(data: bytes, start: int) -> None:
    assert blank_line_end(data, start) == _reference(data, start)
    assert blank_line_end(bytearray(data), start) == _reference(data, start)
