"""Every form of every identifier in every encoding, found in one pass: the detector.

``Detector(rack)`` turns the rack into :class:`IdentifierPattern` literals
(forms × encodings, see :mod:`~benches.analysis.detection.forms` and
:mod:`~benches.analysis.detection.encodings`) and puts them all in one Aho-Corasick
automaton, searched over the lower-cased bytes. Exact-case literals (base64,
raw bytes) are lower-cased into the same automaton and compared byte for byte
on a hit, which is cheaper than a second pass. Each hit then passes its
boundary check, and of the hits on one identifier only the longest stands:
the 14-digit IMEI inside the 15-digit one is the same leak, said less well.

The automaton is the slow part (pyahocorasick walks a node per byte), so a
:class:`Sieve` first skips what cannot hold a literal: a few searches for runs of
character classes (:mod:`~benches.analysis.detection.skeletons`: in the data's
skeleton, without writing it) or of raw bytes, and the
automaton runs only around what they find (most TLS and compressed bytes are
skipped; text is searched whole).

A literal with no boundary check must carry at least 64 bits: 11 base64
characters, 13 base32 characters (a base64 or base32 literal is also checked
bit for bit by decoding the groups around it) or 8 raw bytes. The odds for
random bytes: a literal of L bytes matches at a given offset with
probability at most (2/256)^L (case folded), so for the shortest, 9 bytes,
2^-63; over 1 MiB (2^20 offsets) and a 20-phone rack (about 11,000 literals,
2^14) that is 2^-29 expected false hits. In random base64 text an
11-character literal matches with 64^-11 = 2^-66 per offset: 2^-33 per MiB;
a 13-character base32 literal, matched in either case, with 32^-13 = 2^-65
in random base32 or base64 text. A run of digits hits only if it is one of
the rack's digit-only literals (12 digits or more: an IMEI, a MAC without
letters, the hex of a SIM file), whole.

A binary number (an IMEI as a protobuf varint or an int64) is compared byte for
byte and needs 7 bytes, 56 bits (see ``_binary_number_strong_enough``); its
literals have 4-byte anchors found in one pass (:mod:`~benches.analysis.detection.needles`)
and an automaton of their own, run only around those anchors.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import ahocorasick

from benches.analysis.detection.encodings import (
    BINARY_NUMBERS,
    READERS,
    Encoded,
    Fragment,
    encodings,
    fragment_context,
)
from benches.analysis.detection.forms import DIGITS, Boundary, Suffix, forms, identifiers
from benches.analysis.detection.locations import SHORTEST_HIT, LocationFinder, PairingBudget
from benches.analysis.detection.needles import WIDTH, NeedleSet, aligned_windows
from benches.analysis.detection.skeletons import class_marks
from benches.inventory.models import Rack

MIN_UNCHECKED_TEXT = 11  # characters: 66 bits of base64
MIN_UNCHECKED_RAW = 8  # bytes: 64 bits
MIN_UNCHECKED_BASE32 = 13  # characters: 65 bits
# A binary number (varint, int64) is compared byte for byte and a varint is a whole
# one (its edge is checked): 7 bytes, 56 bits, is one chance hit in 2^56 offsets per
# literal. See _binary_number_strong_enough for the figures.
MIN_BINARY_NUMBER = 7
CONTEXT = 32  # bytes read around a match: two decoded characters either side and a suffix
SIEVE_MIN = 512  # shorter data is searched whole: the sieve would cost more than it saves
STRIDE = 256  # after an anchor, this much more data is searched before looking again
_NEWLINES = re.compile(rb"\n+")
ANCHOR = 12  # characters of skeleton an anchor takes from a literal
MIN_ANCHOR = 7  # ... or fewer, down to this, when that ends it at a rare character


@dataclass(frozen=True)
class IdentifierPattern:
    device: str  # the device's serial (devices[].serial)
    kind: str  # "imei", "iccid", "imsi", "serial" or "wifi_mac"
    value: str  # the identifier as devices.yaml writes it (raw: mask before showing)
    form: str  # how it is written: "imei-15", "iccid-bcd", "mac-colon", ...
    encoding: str  # how the form is encoded: "plain", "base64", "sha256-hex", ...
    literal: bytes  # the bytes of a match; lower case unless ``exact``
    exact: bool = False
    reader: str | None = None  # encodings.READERS key for the boundary check; None: unchecked
    boundary: Boundary | None = None
    suffix: Suffix | None = None  # decoded digits that must follow (IMEISV)
    fragment: Fragment | None = None  # base64, base32: the form's bytes and their offset in a group

    def __init__(
        self, device: str, kind: str, value: str, form: str, encoding: str, literal: bytes,
        exact: bool = False, reader: str | None = None, boundary: Boundary | None = None,
        suffix: Suffix | None = None, fragment: Fragment | None = None,
    ) -> None:  # fmt: skip
        # The dataclass's own __init__ of a frozen class calls object.__setattr__ once a
        # field: about 18,000 instructions a pattern, and a rack makes 11,000 of them at
        # start-up. One dict, set at once, is a third of that (tests: same fields, order,
        # defaults as the dataclass declares).
        _SET(self, "__dict__", {
            "device": device, "kind": kind, "value": value, "form": form,
            "encoding": encoding, "literal": literal, "exact": exact, "reader": reader,
            "boundary": boundary, "suffix": suffix, "fragment": fragment,
        })  # fmt: skip


_SET = object.__setattr__


@dataclass(frozen=True)
class LocationPattern:
    """What a location hit found: ``value`` is "lat,lon" (or "lon,lat") as written."""

    value: str
    form: str  # "decimal", "e7", "e6", "e5", "geohash"; "-lonlat" added: [lon, lat]
    kind: str = "location"
    encoding: str = "plain"
    device: None = None


Pattern = IdentifierPattern | LocationPattern


@dataclass(frozen=True)
class Hit:
    """One identifier (or the bench's location) found in bytes: [start, end) and what it is."""

    start: int
    end: int
    pattern: Pattern

    @property
    def device(self) -> str | None:
        return self.pattern.device

    @property
    def kind(self) -> str:
        return self.pattern.kind

    @property
    def value(self) -> str:
        return self.pattern.value

    @property
    def form(self) -> str:
        return self.pattern.form

    @property
    def encoding(self) -> str:
        return self.pattern.encoding


# --- patterns -----------------------------------------------------------------


def rack_patterns(rack: Rack) -> tuple[IdentifierPattern, ...]:
    """Every literal of every form of every identifier of every phone, without repeats.

    Cached per rack (the models are frozen): analyses of one rack share the tuple.
    """
    try:
        return _cached_patterns(rack)
    except TypeError:  # a rack built with a list somewhere: unhashable, so not cached
        return _patterns(rack)


@lru_cache(maxsize=8)
def _cached_patterns(rack: Rack) -> tuple[IdentifierPattern, ...]:
    return _patterns(rack)


def _patterns(rack: Rack) -> tuple[IdentifierPattern, ...]:
    found: dict[tuple[object, ...], IdentifierPattern] = {}
    for device in rack.devices:
        serial = device.serial
        for kind, value in identifiers(device.identity):
            for form in forms(kind, value):
                name = form.name
                for encoded in encodings(form):
                    if not _strong_enough(encoded):
                        continue
                    exact, reader = encoded.exact, encoded.reader
                    boundary, suffix, fragment = encoded.boundary, encoded.suffix, encoded.fragment
                    literal = encoded.literal if exact else encoded.literal.lower()
                    key = (serial, kind, value, literal, exact, reader, boundary, suffix, fragment)
                    found.setdefault(key, IdentifierPattern(  # the first form names it
                        serial, kind, value, name, encoded.encoding, literal, exact, reader,
                        boundary, suffix, fragment,
                    ))  # fmt: skip
    return tuple(found.values())


_UNCHECKED_FLOORS = {"raw": MIN_UNCHECKED_RAW, "base32": MIN_UNCHECKED_BASE32}


def _strong_enough(encoded: Encoded) -> bool:
    if encoded.encoding in BINARY_NUMBERS:
        return _binary_number_strong_enough(encoded)
    if encoded.reader is not None:
        return True  # its boundary check is what makes a short form (a 9-char serial) safe
    floor = _UNCHECKED_FLOORS.get(encoded.encoding, MIN_UNCHECKED_TEXT)
    return len(encoded.literal) >= floor


def _binary_number_strong_enough(encoded: Encoded) -> bool:
    """A binary number's literal is long enough not to turn up by chance.

    Random bytes hold a given L-byte literal at an offset with probability
    256^-L, and case folding cannot help it (exact compare). A 20-phone rack
    has about 400 binary literals (2^9: IMEI, IMEI without its check digit,
    IMSI, 19-digit ICCID, four encodings each). At L = 7 that is 2^9 · 2^-56 =
    2^-47 per byte: one chance hit per 2^47 bytes (128 TiB) of random data,
    2^-27 per MiB, and a varint hit also needs the byte before it to end a varint
    (one more bit). At L = 6 (the varint of a 14-digit number below 2^42, an
    IMEI starting 00 or 01 without its check digit) it would be 2^-39 per byte:
    one per 512 GiB, and a capture is dense in such 6-byte varints (millisecond
    timestamps are 41 bits): dropped. The int64 forms are always 8 bytes, but
    their top bytes are zeros (an IMEI is below 2^50): in data dense with zeros
    they carry 48 bits, still one chance hit per 2^39 bytes. Measured in
    tests/analysis/detection/test_binary_numbers.py.
    """
    return len(encoded.literal) >= MIN_BINARY_NUMBER


def _span_limit(pattern: IdentifierPattern) -> int:
    digits = pattern.suffix.length if pattern.suffix else 0
    return len(pattern.literal) + 6 * digits  # a suffix digit takes at most 6 bytes: \u003X


# --- the sieve --------------------------------------------------------------

# Skeleton classes: 'x' for every character a text literal is made of (base64,
# hex, digits, the % \ : of percent-encoding, \u escapes and MACs, the space
# of a grouped IMEI), '0' for NUL (UTF-16), '.' for the rest.
_TEXT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-%\\: ")
_CLASSES = {0: ord("0")}
SKELETON = bytes(ord("x") if b in _TEXT else _CLASSES.get(b, ord(".")) for b in range(256))


@dataclass(frozen=True)
class Anchor:
    needle: bytes
    raw: bool  # searched in the data itself, not in its skeleton


class Sieve:
    """Where the automaton must look: around every anchor, a few literal searches away.

    Every literal contains one of the anchors: a run of skeleton shared by
    many literals (a run of 'x' as long as the shortest all-'x' literal covers
    base64, hex, digits, MACs, escapes, serials), or for a raw literal its
    first bytes. So every match lies within ``reach`` of an anchor, and the
    rest of the data cannot hold one. A binary number's literals have anchors
    of their own (:meth:`number_regions`), searched by an automaton of their own.
    """

    def __init__(self, patterns: Sequence[IdentifierPattern], reach: int) -> None:
        self.reach = reach
        self.anchors = _choose_anchors(patterns)
        # Binary numbers' anchors: four 4-byte windows of each, found in one pass.
        self.numbers = NeedleSet(
            _number_anchors([p.literal for p in patterns if p.encoding in BINARY_NUMBERS])
        )

    def regions(self, data: bytes) -> list[tuple[int, int]]:
        """Spans of ``data`` that may hold a literal; all of it when it is short."""
        if len(data) < SIEVE_MIN:
            return [(0, len(data))] if data else []
        marks: list[tuple[int, int]] = []
        reach = self.reach
        for anchor in self.anchors:
            needle = anchor.needle
            if anchor.raw:
                _mark(marks, data, needle, reach)
            else:  # any later place before position + STRIDE is inside this span too
                marks += [(p - reach, p + len(needle) + STRIDE + reach)
                          for p in class_marks(data, SKELETON, needle, STRIDE)]  # fmt: skip
        return _merge(marks, len(data))

    def number_regions(self, data: bytes) -> list[tuple[int, int]]:
        """Spans of ``data`` that may hold a binary number's literal: rare, searched apart."""
        reach = self.reach
        marks = [(p - reach, p + WIDTH + STRIDE + reach) for p in self.numbers.find(data, STRIDE)]
        return _merge(marks, len(data))


def _mark(marks: list[tuple[int, int]], haystack: bytes, needle: bytes, reach: int) -> None:
    position = haystack.find(needle)
    while position >= 0:
        # Any later occurrence before position + STRIDE is inside this span too.
        marks.append((position - reach, position + len(needle) + STRIDE + reach))
        position = haystack.find(needle, position + STRIDE)


def _choose_anchors(patterns: Sequence[IdentifierPattern]) -> list[Anchor]:
    """Few anchors that every literal contains, found fast in random bytes.

    Greedy set cover over skeleton windows of each literal. A window may be
    cut back to end at a rare class (a space, a NUL): ``bytes.find`` skips
    ahead on the last character, and 'x' is a quarter of all bytes.
    """
    raw = _raw_anchors([p.literal for p in patterns if p.encoding == "raw"])
    # Literals of one shape share a skeleton (thousands of literals, tens of skeletons):
    # cover the skeletons, each weighing as many literals as it stands for.
    weights = Counter(
        p.literal.translate(SKELETON) for p in patterns if p.encoding not in _RAW_ENCODINGS
    )
    candidates: dict[bytes, set[bytes]] = {}
    for skeleton in weights:
        size = min(len(skeleton), ANCHOR)
        for start in range(len(skeleton) - size + 1):
            window = skeleton[start : start + size]
            candidates.setdefault(window, set()).add(skeleton)
            cut = window.rstrip(b"x")
            if len(cut) >= MIN_ANCHOR and cut != window:
                candidates.setdefault(cut, set()).add(skeleton)
    uncovered = set(weights)

    def covers(needle: bytes) -> int:
        return sum(weights[s] for s in candidates[needle] & uncovered)

    chosen: list[bytes] = []
    while uncovered:
        best = max(candidates, key=lambda n: (covers(n), not n.endswith(b"x"), len(n), n))
        chosen.append(best)
        uncovered -= candidates.pop(best)
    # An anchor containing another is redundant: the shorter one finds it too.
    needed = [a for a in chosen if not any(b != a and b in a for b in chosen)]
    return [Anchor(a, raw=False) for a in needed] + [Anchor(r, raw=True) for r in sorted(raw)]


def _raw_anchors(literals: list[bytes]) -> set[bytes]:
    """Prefixes of the raw literals, as long as that adds none: a longer needle skips faster.

    The SIMs of one operator share their first BCD bytes (issuer, country),
    so a rack usually needs one needle per kind of SIM file.
    """
    fewest = {literal[:3] for literal in literals}
    for size in (8, 6, 4):
        prefixes = {literal[:size] for literal in literals}
        if len(prefixes) <= len(fewest):
            return prefixes
    return fewest


_RAW_ENCODINGS = frozenset({"raw", *BINARY_NUMBERS})


def _number_anchors(literals: list[bytes]) -> set[bytes]:
    """Every binary number's :func:`~benches.analysis.detection.needles.aligned_windows`.

    The needle search looks at every fourth offset only; four windows in a row of each
    literal (one of them at an offset 0 mod 4 wherever the literal starts) make that
    enough. A set cover of shared windows (the rack's common high bits) would need a
    look at every offset, four times the work on every byte searched.
    """
    return {window for literal in literals for window in aligned_windows(literal)}


def _merge(marks: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(marks):
        low, high = max(low, 0), min(high, size)
        if merged and low <= merged[-1][1]:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


# --- matching -------------------------------------------------------------


class Matcher:
    """The patterns in one automaton, with the sieve in front and the checks behind."""

    def __init__(self, patterns: Iterable[IdentifierPattern]) -> None:
        self.patterns = tuple(patterns)
        # Binary numbers in an automaton of their own: their first bytes are spread over
        # all 256 values, and in the text automaton that root would slow every byte of
        # text by half. They are searched only around their own anchors, byte for byte.
        numbers: list[int] = []
        others: list[int] = []
        for index, pattern in enumerate(self.patterns):
            (numbers if pattern.encoding in BINARY_NUMBERS else others).append(index)
        self.automaton = _automaton(self.patterns, others, fold=True)
        self.numbers = _automaton(self.patterns, numbers, fold=False)
        # _span_limit of each, but only a suffix makes it more than the literal's length.
        suffixed = max((_span_limit(p) for p in self.patterns if p.suffix), default=0)
        self.max_length = max(max((len(p.literal) for p in self.patterns), default=0), suffixed)
        self.sieve = Sieve(self.patterns, self.max_length + CONTEXT)

    def find(self, data: bytes) -> list[Hit]:
        """Every hit in ``data``."""
        if not self.patterns:
            return []
        hits: list[tuple[Hit, int]] = []
        for low, high in self.sieve.regions(data):
            self._search(data, low, data[low:high].lower(), self.automaton, hits)
        if self.numbers is not None:
            self._binary_numbers(data, hits)
        return _most_specific(hits)

    def _binary_numbers(self, data: bytes, hits: list[tuple[Hit, int]]) -> None:
        """The binary numbers' literals, searched byte for byte around their own anchors."""
        for low, high in self.sieve.number_regions(data):
            self._search(data, low, data[low:high], self.numbers, hits)

    def _search(
        self,
        data: bytes,
        low: int,
        region: bytes,
        automaton: ahocorasick.Automaton | None,
        hits: list[tuple[Hit, int]],
    ) -> None:
        if automaton is None:
            return
        patterns = self.patterns
        for last, (length, indices) in automaton.iter(region.decode("latin-1")):
            start = low + last + 1 - length
            end = start + length
            for index in indices:
                hit = _checked(data, start, end, patterns[index])
                if hit is not None:
                    hits.append((hit, index))


def _automaton(
    patterns: Sequence[IdentifierPattern], indices: list[int], *, fold: bool
) -> ahocorasick.Automaton | None:
    """The automaton of ``patterns[i]`` for ``indices``, keys lower-cased when ``fold``."""
    literals = [patterns[index].literal for index in indices]
    by_key: defaultdict[bytes, list[int]] = defaultdict(list)
    for key, index in zip(
        [k.lower() for k in literals] if fold else literals, indices, strict=True
    ):
        by_key[key].append(index)
    if not by_key:
        return None
    automaton = ahocorasick.Automaton()
    add = automaton.add_word
    for key, found in by_key.items():
        add(key.decode("latin-1"), (len(key), tuple(found)))
    automaton.make_automaton()
    return automaton


_MATCHERS: dict[int, tuple[tuple[IdentifierPattern, ...], Matcher]] = {}


def matcher_for(patterns: tuple[IdentifierPattern, ...]) -> Matcher:
    """The matcher of a pattern tuple, built once while the tuple is in use.

    Keyed by identity: hashing thousands of patterns on every call would cost
    more than building. The entry holds the tuple, so its id stays unique.
    """
    entry = _MATCHERS.get(id(patterns))
    if entry is not None and entry[0] is patterns:
        return entry[1]
    if len(_MATCHERS) >= 8:
        _MATCHERS.pop(next(iter(_MATCHERS)))
    matcher = Matcher(patterns)
    _MATCHERS[id(patterns)] = (patterns, matcher)
    return matcher


def _checked(data: bytes, start: int, end: int, pattern: IdentifierPattern) -> Hit | None:
    if pattern.exact and data[start:end] != pattern.literal:
        return None
    if pattern.fragment is not None:
        return _checked_fragment(data, start, end, pattern, pattern.fragment)
    if pattern.reader is None or pattern.boundary is None:
        return Hit(start, end, pattern)
    reader = READERS[pattern.reader]
    wanted = pattern.suffix.length if pattern.suffix else 0
    following = reader.after(data, end, wanted + 2)
    if pattern.suffix:
        digits = following[:wanted]
        if not _version([char for char, _ in digits], pattern.suffix):
            return None
        end += sum(width for _, width in digits)
    after = [char for char, _ in following[wanted:]]
    if not pattern.boundary.allows(reader.before(data, start, 2), after):
        return None
    return Hit(start, end, pattern)


def _checked_fragment(
    data: bytes, start: int, end: int, pattern: IdentifierPattern, fragment: Fragment
) -> Hit | None:
    """A base64 or base32 literal: every bit of the form decoded, then its boundary (and
    IMEISV digits)."""
    wanted = pattern.suffix.length if pattern.suffix else 0
    around = fragment_context(data, start, fragment, wanted + 2)
    if around is None:
        return None
    before, after = around
    if pattern.suffix:
        if not _version(after[:wanted], pattern.suffix):
            return None
        after = after[wanted:]
    if pattern.boundary is not None and not pattern.boundary.allows(before, after):
        return None
    return Hit(start, end, pattern)


def _version(chars: list[int], suffix: Suffix) -> bool:
    """The digits after an IMEISV's 14: all there, digits, and not the IMEI plus a digit."""
    if len(chars) < suffix.length or any(char not in DIGITS for char in chars):
        return False
    return chars[0] not in suffix.refused


def _most_specific(hits: list[tuple[Hit, int]]) -> list[Hit]:
    """Of overlapping hits on one identifier, only the longest (the first form listed on a tie).

    The 14 digits inside the 15 are the same leak said less well. ASCII text in
    UTF-16 between ASCII characters reads as both byte orders, one byte apart:
    it is one leak, reported as little-endian (listed first).
    """
    kept: dict[tuple[str | None, str, str], tuple[list[int], list[Hit]]] = {}
    for hit, _ in sorted(hits, key=lambda h: (h[0].start - h[0].end, h[1], h[0].start)):
        starts, taken = kept.setdefault((hit.device, hit.kind, hit.value), ([], []))
        place = bisect_left(starts, hit.start)  # kept hits never overlap: sorted by start
        if place < len(taken) and taken[place].start < hit.end:
            continue
        if place > 0 and taken[place - 1].end > hit.start:
            continue
        starts.insert(place, hit.start)
        taken.insert(place, hit)
    return sorted((hit for _, group in kept.values() for hit in group), key=lambda h: h.start)


# --- the detector -----------------------------------------------------------


class Detector:
    """The rack's identifiers and the bench's location, in one pass. Built once per rack."""

    def __init__(self, rack: Rack) -> None:
        self.matcher = matcher_for(rack_patterns(rack))
        self.patterns: tuple[IdentifierPattern, ...] = self.matcher.patterns
        self.max_length: int = self.matcher.max_length
        self.locations = LocationFinder(rack.bench.location)
        # The shortest a hit can be, identifier or location (a geohash).
        self.shortest: int = min([len(p.literal) for p in self.patterns] + [SHORTEST_HIT])
        # Bytes no hit can hold, which a boundary check reads as the end of the data: a
        # run of newlines longer than any a hit holds (a location pair may hold some
        # between its numbers; a literal rarely any) and than the context read around one.
        held = max((len(run) for p in self.patterns if b"\n" in p.literal
                    for run in _NEWLINES.findall(p.literal)), default=0)  # fmt: skip
        self.separator: bytes = b"\n" * (max(held, self.locations.window, CONTEXT) + 1)

    @property
    def span(self) -> int:
        """The longest a hit can be, identifier or location pair."""
        return max(self.max_length, self.locations.max_span)

    def scan(self, data: bytes, budget: PairingBudget | None = None) -> list[Hit]:
        """Every hit in ``data``, in offset order; its end counts as the end of the text.
        Location pairs only as far as ``budget`` (the flow's) pays for, when given."""
        locations = location_hits(self.locations, data, budget)
        hits = self.matcher.find(data) + list(locations)
        return sorted(hits, key=lambda h: (h.start, h.end))

    def stream(self, budget: PairingBudget | None = None) -> DetectorStreamScanner:
        return DetectorStreamScanner(self, budget)


def location_hits(
    finder: LocationFinder, data: bytes, budget: PairingBudget | None = None
) -> Iterator[Hit]:
    for pair in finder.find(data, budget):
        yield Hit(pair.start, pair.end, LocationPattern(pair.text, pair.name))


@dataclass
class DetectorStreamScanner:
    """Searches a stream chunk by chunk; each hit is reported once, with stream offsets.

    A hit is reported once ``horizon`` bytes follow its start: by then the hit
    is complete, so is any longer hit containing it, and so are the bytes its
    boundary check reads. The scanner keeps the last ``horizon + span +
    CONTEXT`` bytes, so memory does not grow with the stream.
    """

    detector: Detector
    budget: PairingBudget | None = None  # the flow's location work, shared by its searches
    buffer: bytes = b""
    base: int = 0  # stream offset of buffer[0]
    decided: int = 0  # hits starting before this offset were reported already
    horizon: int = field(init=False)
    keep: int = field(init=False)

    def __post_init__(self) -> None:
        span = self.detector.span
        self.horizon = span + CONTEXT
        self.keep = self.horizon + span + CONTEXT

    def feed(self, chunk: bytes) -> list[Hit]:
        """The hits this chunk settles (they may begin in earlier chunks)."""
        buffer = self.buffer + chunk
        limit = self.base + len(buffer) - self.horizon
        found = self._report(buffer, limit) if limit > self.decided else []
        if len(buffer) > self.keep:
            self.base += len(buffer) - self.keep
            buffer = buffer[-self.keep :]
        self.buffer = buffer
        return found

    def finish(self, chunk: bytes = b"") -> list[Hit]:
        """The hits of a last ``chunk`` and those the end of the stream settles, in one
        search; the scanner is empty afterwards."""
        buffer = self.buffer + chunk
        found = self._report(buffer, self.base + len(buffer) + 1)
        self.base += len(buffer)
        self.buffer = b""
        return found

    def _report(self, buffer: bytes, limit: int) -> list[Hit]:
        found = []
        base, decided = self.base, self.decided
        for hit in self.detector.scan(buffer, self.budget):
            start = base + hit.start
            if decided <= start < limit:
                found.append(Hit(start, base + hit.end, hit.pattern))
        self.decided = max(decided, limit)
        return found
