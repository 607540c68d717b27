"""The decoded bytes around a base64 or base32 literal: one walk for both alphabets.

A literal of base64 (4 characters carry 3 bytes) or base32 (8 carry 5) holds only
the characters made of the form's bits alone; the groups around it are decoded to
check the bits it leaves out and to read the characters next to the form (its
boundary). :func:`group_context` does that for any group size; ``encodings.py`` and
``base32.py`` give it their alphabet's sizes and decoder.
"""

from __future__ import annotations

from collections.abc import Callable


def group_context(
    data: bytes,
    start: int,
    literal: bytes,
    offset: int,
    want: int,
    first: int,
    group: tuple[int, int],
    decode: Callable[[bytes], bytes],
) -> tuple[list[int], list[int]] | None:
    """Decode the groups around a literal at ``start``: None if they are not the form.

    ``literal``: the form's bytes, at ``offset`` in its first group; ``first``: the
    literal's first character in that group; ``group``: (characters, bytes) of a group;
    ``decode``: the decoder of a text's longest decodable prefix. Returns the decoded
    bytes before (nearest first) and after the form, up to ``want`` of each as far as
    the text around decodes. Both are empty when the data starts inside the form's
    first group (a capture cut short): then the literal alone stands.
    """
    chars, octets = group
    low = start - first
    if low < 0:
        return [], []
    groups = -(-(offset + len(literal)) // octets)
    high = low + chars * groups
    decoded = decode(data[low:high])
    if decoded[offset : offset + len(literal)] != literal:
        return None
    before = list(reversed(decoded[:offset]))
    if len(before) < want and low >= chars:
        before += reversed(decode(data[low - chars : low]))
    after = list(decoded[offset + len(literal) :])
    full = len(decoded) == octets * groups  # no padding, not cut: the text may go on
    while full and len(after) < want:
        more = decode(data[high : high + chars])
        after += more
        high += chars
        full = len(more) == octets
    return before[:want], after[:want]
