"""Where the next HTTP/1.x message begins, in bytes not read as HTTP (yet, or any more).

A stream may hold bytes before its first message (a TCP keep-alive byte, a
capture that began mid-connection, a server that spoke first) or after a
message the parser could not follow (a malformed head, a framing error, a
gap). :class:`StartLineSearch` looks through such bytes for the next start
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
from typing import Literal

Direction = Literal["request", "response"]

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


class StartLineSearch:
    """The search for the next start line in a buffer that grows at its end between calls
    (a parser's): it remembers how far it looked, and cuts from the buffer's front what
    can no longer begin one."""

    __slots__ = ("resume", "line", "seen")

    def __init__(self) -> None:
        self.resume = 0  # where in the buffer the search for the anchor resumes
        self.line = 0  # where in the buffer the last line begins (after its last LF)
        self.seen = 0  # the buffer's length when last searched: the bytes after are new

    def reset(self) -> None:
        """Search a buffer from its start (every byte of it new)."""
        self.resume = self.line = self.seen = 0

    def restart(self, size: int) -> None:
        """The buffer now holds ``size`` bytes of one line, none of which can begin an
        anchor but its last few."""
        self.resume = max(size - len(ANCHOR) + 1, 0)
        self.line = 0
        self.seen = size

    def find(self, buffer: bytearray) -> tuple[int, Direction, int]:
        """(where the first start line begins, its kind, bytes cut from the front first);
        where is -1 while there is none yet: then only the last line is kept, at most
        :data:`MAX_LINE` bytes, to find a start line split across segments."""
        newline = buffer.rfind(b"\n", self.seen)
        if newline >= 0:
            self.line = newline + 1
        at = self.resume
        while True:
            anchor = buffer.find(ANCHOR, at)
            if anchor < 0:
                self.resume = max(at, len(buffer) - len(ANCHOR) + 1)
                break
            start, direction = _start_line(buffer, anchor)
            if start == _WAIT:
                self.resume = anchor
                break
            if start >= 0:
                self.reset()
                return start, direction, 0
            at = anchor + 1
        cut = min(max(self.line, len(buffer) - MAX_LINE), self.resume)
        if cut > 0:
            del buffer[:cut]  # CPython moves the buffer's start: no copy
            self.resume -= cut
            self.line = max(self.line - cut, 0)
        self.seen = len(buffer)
        return -1, "request", max(cut, 0)


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
