"""base32_fragments against the stdlib's encoder: the literal at each offset in a group."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from benches.analysis.detection.base32 import GROUP_BYTES, base32_fragments


def _by_stdlib(data: bytes) -> list[bytes]:
    """What the fragments were before: encode ``bytes(offset) + data``, keep the
    characters made of ``data``'s bits alone."""
    fragments = []
    for offset in range(GROUP_BYTES):
        text = base64.b32encode(bytes(offset) + data)
        fragments.append(text[(8 * offset + 4) // 5 : 8 * (offset + len(data)) // 5])
    return fragments


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=64))
def test_the_fragments_are_what_the_stdlib_encoder_spells(data: bytes) -> None:
    assert base32_fragments(data) == _by_stdlib(data)


def test_every_length_up_to_three_groups() -> None:
    for length in range(16):
        data = bytes(range(0xF0, 0xF0 + length))
        assert base32_fragments(data) == _by_stdlib(data)
    # 40 one bits: 8 characters at offset 0; 7 at any other (its edges share bits)
    assert base32_fragments(b"\xff" * 5) == [b"7" * 8] + [b"7" * 7] * 4
