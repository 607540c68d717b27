"""Identifiers masked wherever the bench shows them: values, evidence, names."""

from __future__ import annotations

from collections.abc import Sequence

from benches.analysis.detection.identifiers import Hit
from benches.redaction.masks import mask

EVIDENCE_CONTEXT = 24  # bytes of context either side of a match


def mask_value(identifier: str, value: str) -> str:
    """Mask an identifier's value; a location is masked coordinate by coordinate."""
    if identifier == "location":
        return ",".join(mask(part) for part in value.split(","))
    return mask(value)


def masked_evidence(chunk: bytes, hit: Hit, hits: list[Hit]) -> str:
    """The bytes around a match, decoded, with every identifier in them masked."""
    start = max(0, hit.start - EVIDENCE_CONTEXT)
    end = min(len(chunk), hit.end + EVIDENCE_CONTEXT)
    widened = True
    while widened:  # never cut an identifier in half at the edges: swallow it whole
        widened = False
        for other in hits:
            if other.start < start < other.end:
                start, widened = other.start, True
            if other.start < end < other.end:
                end, widened = other.end, True
    return masked_text(chunk, hits, start, end)


def masked_text(data: bytes, hits: Sequence[Hit], start: int, end: int) -> str:
    parts = []
    position = start
    for other in sorted(hits, key=lambda h: h.start):
        if other.start < position or other.start >= end:
            continue
        parts.append(_printable(data[position : other.start]))
        parts.append(_mask_in_place(data[other.start : other.end], other))
        position = other.end
    parts.append(_printable(data[position:end]))
    return "".join(parts)


def _mask_in_place(span: bytes, hit: Hit) -> str:
    """Mask the identifier where it stands; a location keeps the text between its numbers."""
    if hit.kind != "location" or "," not in hit.value:  # a geohash is one token
        return mask(_printable(span))
    text = _printable(span)
    first, second = hit.value.split(",", 1)
    middle = text[len(first) : len(text) - len(second)]
    return f"{mask(first)}{middle}{mask(second)}"


def _printable(data: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data)
