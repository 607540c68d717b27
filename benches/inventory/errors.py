"""The one error type of the inventory: a single line naming file, line and key."""

from __future__ import annotations


def one_line(text: str) -> str:
    """Escape every non-printable character, so no value can break the line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


class InventoryError(Exception):
    """Invalid or unreadable devices.yaml or firmware manifest.

    ``str()`` is exactly one line, ``FILE:LINE: KEY: MESSAGE``, where LINE is
    1-based and KEY is a dotted path with list indices
    (``devices[1].identity.imei[0]``). Parts that do not apply are left out,
    as in ``firmware/nope.yaml: file not found``.
    """

    def __init__(self, file: str, message: str, line: int | None = None, key: str = "") -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __reduce__(self) -> tuple[type[InventoryError], tuple[str, str, int | None, str]]:
        # Keeps the error intact across processes (pytest-xdist workers).
        return (InventoryError, (self.file, self.message, self.line, self.key))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where, self.key, self.message] if self.key else [where, self.message]
        return one_line(": ".join(parts))
