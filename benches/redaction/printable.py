"""Text from a capture or a database, made safe to show: the one escaping function.

Names in a capture (DNS, SNI, Host, HTTP evidence), owner and country names in
an ``.mmdb`` file and the names of pcap files are chosen by whoever made them.
Shown raw, an escape sequence recolours or rewrites a terminal, a newline
forges a log line or a second finding, a bidi override turns a name around,
and a control character makes an SVG invalid XML. So every sink (the CLI's
text, log records, pytest and Allure messages, the summary's HTML and SVG)
passes such strings through :func:`printable` first.

Data keeps its raw value: the ``--json`` document and ``summary.json`` hold
the strings as read (``json.dumps`` escapes control characters itself), so a
tool gets the exact bytes, and nothing is escaped twice.
"""

from __future__ import annotations

from benches.inventory.errors import one_line

__all__ = ["printable"]


def printable(text: str) -> str:
    """``text`` with every character that is not printable written as an escape.

    Control characters (ESC, NUL, newlines, DEL, C1), format characters (bidi
    overrides, zero-width), separators other than the space, lone surrogates and
    unassigned code points become ``\\x1b``, ``\\n``, ``\\u202e``, ``\\U000e0001``;
    everything else (letters of any script, punctuation, emoji) stays. Text
    that is printable already is returned as it is, so escaping twice is
    escaping once.

    It is the escaping the inventory's errors use (:func:`benches.inventory.errors.one_line`):
    the inventory sits below every other layer, so the one implementation lives there.
    """
    return one_line(text)
