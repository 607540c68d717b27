"""A few lines of SVG writing: elements with escaped text and attributes, nothing else.

Hand-written on purpose: the charts are bars, lines and labels, and a plotting
library would be a large dependency for them. The output is standalone SVG
(valid XML, its own xmlns), so it works as a file, an Allure attachment and
inline in HTML alike.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from benches.redaction.printable import printable

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
# Colours a reader can tell apart, also in greyscale print.
RED = "#c62828"
AMBER = "#ef8f00"
GREEN = "#2e7d32"
GREY = "#9e9e9e"
INK = "#212121"
OWNER_PALETTE = ("#1565c0", "#6a1b9a", "#00838f", "#5d4037", "#ad1457", "#558b2f", "#37474f")


def text(value: object) -> str:
    """Character data, escaped: a control character (an owner's ESC) would not even be
    valid XML, so non-printables are shown as escapes first."""
    return escape(printable(str(value)))


class Svg:
    def __init__(self, width: float, height: float, title: str) -> None:
        self.width = width
        self.height = height
        self.title = title
        self._parts: list[str] = []

    def add(self, tag: str, content: str | None = None, **attrs: object) -> None:
        """One element; ``content`` is character data (escaped here), attributes too.

        Attribute names take ``_`` for ``-`` (``font_size``), and ``class_`` for ``class``.
        """
        rendered = "".join(
            f" {_name(key)}={quoteattr(printable(str(value)))}"
            for key, value in attrs.items()
            if value is not None
        )
        if content is None:
            self._parts.append(f"<{tag}{rendered}/>")
        else:
            self._parts.append(f"<{tag}{rendered}>{text(content)}</{tag}>")

    def open(self, tag: str, **attrs: object) -> None:
        rendered = "".join(
            f" {_name(key)}={quoteattr(printable(str(value)))}"
            for key, value in attrs.items()
            if value is not None
        )
        self._parts.append(f"<{tag}{rendered}>")

    def close(self, tag: str) -> None:
        self._parts.append(f"</{tag}>")

    def render(self) -> str:
        width, height = _num(self.width), _num(self.height)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" font-family={quoteattr(FONT)} '
            f'font-size="12">'
        )
        return head + f"<title>{text(self.title)}</title>" + "".join(self._parts) + "</svg>\n"


def _name(key: str) -> str:
    return key.rstrip("_").replace("_", "-")


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def fmt_bytes(count: int) -> str:
    """1234567 -> '1.2 MB'."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{count} B"  # unreachable; keeps type checkers content
