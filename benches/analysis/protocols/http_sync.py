"""Where the next HTTP/1.x message begins, in bytes not read as HTTP (yet, or any more).

A stream may hold bytes before its first message (a TCP keep-alive byte, a
capture that began mid-connection, a server that spoke first) or after a
message the parser could not follow (a malformed head, a framing error, a
gap). :class:`StartLineFinder` looks through such bytes for the next start
line, as Zeek and nDPI do: a request line (``METHOD SP target SP HTTP/1.x``
and its line end) or a status line (``HTTP/1.x SP 3DIGIT``), whichever the
direction, wherever it begins (not only after a line end: a keep-alive byte
needs none).

The cost is linear in the bytes: each is looked at by one ``find`` for
``HTTP/1.``, and a request line's method and target are looked back for at
most once (a request line holds one space before its version, so two
candidates never look back over the same bytes). Only the current line is
kept, at most :data:`MAX_LINE` bytes, to find a start line split across
segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from benches.analysis.protocols.http import Direction

ANCHOR = b"HTTP/1."
# A request line's method and target looked back for. Servers refuse longer request
# lines (nginx and Apache at 8 KiB); a longer one is searched raw, not decoded.
MAX_LINE = 8192
# Methods preferred when the bytes before one are capital letters too ("XPOST / ...").
KNOWN_METHODS = tuple(
    m.encode()
    for m in sorted(
        ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
         "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_TARGET = re.compile(rb"[\x21-\x7e\x80-\xff]+")  # as http._REQUEST_LINE's target
_METHOD_END = re.compile(rb"[A-Z][A-Z_-]{1,19}\Z")  # as http._METHOD, ending where searched
_WAIT, _NONE = -2, -1
SP, CR, LF = 0x20, 0x0D, 0x0A


@dataclass(frozen=True, slots=True)
class StartLine:
    direction: Direction  # "request" (a request line) or "response" (a status line)
    offset: int  # stream offset of its first byte
    data: bytes  # the bytes held from it on: the parser's first feed
    skipped: bool  # bytes other than empty lines were passed over to reach it


class StartLineFinder:
    """Fed the bytes after a loss of sync, returns the next start line once it is whole."""

    __slots__ = ("window", "origin", "resume", "line", "trimmed")

    def __init__(self, data: bytes = b"", origin: int = 0) -> None:
        self.window = bytearray()
        self.origin = 0  # stream offset of window[0]
        self.resume = 0  # where in window the search for the anchor resumes
        self.line = 0  # where in window the last line begins (after its last LF)
        self.trimmed = 0  # bytes dropped from the window's front since the last restart
        self.restart(data, origin)

    def restart(self, data: bytes, origin: int) -> None:
        """Look from ``data`` on, at stream offset ``origin`` (after a gap: nothing held)."""
        self.window = bytearray(data)
        self.origin = origin
        self.resume = 0
        self.line = data.rfind(b"\n") + 1
        self.trimmed = 0

    def feed(self, chunk: bytes) -> StartLine | None:
        """The first start line the bytes so far hold, or None (then feed more)."""
        window = self.window
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            self.line = len(window) + newline + 1
        window += chunk
        found = self._search()
        if found is None:
            self._trim()
        return found

    def finish(self) -> StartLine | None:
        """The end of the stream: a start line it ended in, without its line end."""
        if not self.window or self.window.endswith(b"\n"):
            return None
        return self.feed(b"\r\n")

    def _search(self) -> StartLine | None:
        window, at = self.window, self.resume
        while True:
            anchor = window.find(ANCHOR, at)
            if anchor < 0:
                self.resume = max(at, len(window) - len(ANCHOR) + 1)
                return None
            start, direction = _start_line(window, anchor)
            if start == _WAIT:
                self.resume = anchor
                return None
            if start >= 0:
                return self._take(start, direction)
            at = anchor + 1

    def _take(self, start: int, direction: Direction) -> StartLine:
        window = self.window
        skipped = bool(self.trimmed or window[:start].strip(b"\r\n"))
        found = StartLine(direction, self.origin + start, bytes(window[start:]), skipped)
        self.restart(b"", self.origin + len(self.window))
        return found

    def _trim(self) -> None:
        """Keep the last line only (the front of a start line split across segments)."""
        window = self.window
        cut = min(max(self.line, len(window) - MAX_LINE), self.resume)
        if cut > 0:
            del window[:cut]  # CPython moves the buffer's start: no copy
            self.origin += cut
            self.trimmed += cut
            self.resume -= cut
            self.line = max(self.line - cut, 0)


def _start_line(window: bytearray, anchor: int) -> tuple[int, Direction]:
    """Where the start line whose ``HTTP/1.`` is at ``anchor`` begins, and its kind;
    _NONE if there is none, _WAIT if the bytes after the anchor have not all come."""
    size = len(window)
    if size < anchor + 9:
        return _WAIT, "request"
    if window[anchor + 7] not in b"01":
        return _NONE, "request"
    after = window[anchor + 8]
    if after == SP:  # HTTP/1.x SP 3DIGIT, then SP or the line end (http._STATUS_LINE)
        if size < anchor + 13:
            return _WAIT, "response"
        code = window[anchor + 9 : anchor + 12]
        if code.isdigit() and code[0] != 0x30 and window[anchor + 12] in b" \r\n":
            return anchor, "response"
        return _NONE, "response"
    if after == CR:
        if size < anchor + 10:
            return _WAIT, "request"
        if window[anchor + 9] != LF:
            return _NONE, "request"
    elif after != LF:
        return _NONE, "request"
    return _request_line(window, anchor), "request"


def _request_line(window: bytearray, version: int) -> int:
    """Where ``METHOD SP target SP`` before the version at ``version`` begins, or _NONE."""
    if version < 4 or window[version - 1] != SP:
        return _NONE
    space = window.rfind(b" ", max(0, version - 1 - MAX_LINE), version - 1)
    if space < 2 or not _TARGET.fullmatch(window, space + 1, version - 1):
        return _NONE
    method = _METHOD_END.search(window, max(0, space - 20), space)
    if method is None:
        return _NONE
    name = window[method.start() : space]
    if name not in KNOWN_METHODS:
        for known in KNOWN_METHODS:
            if name.endswith(known):
                return space - len(known)
    return method.start()
