"""devices.yaml's bench hardware: relay boards, the channels phones use, serial consoles.

A port is what pyserial's `serial_for_url` opens: a device path, an
`rfc2217://host:port` or a `socket://host:port` URL (ser2net shares ports
either way). A relative device path is read from devices.yaml's folder, so a
rack file and the ports it names can travel together (the virtual rack puts
its ptys' links there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from benches.inventory import validators
from benches.inventory.models import AsciiCommands, RelayBoard, RelayLink, SerialConsole
from benches.inventory.nodes import Cursor

RELAY_DRIVERS = ("lcus", "ascii")
URL_SCHEMES = ("socket", "rfc2217")


@dataclass
class HardwareReader:
    """Reads relays and consoles; remembers boards and channels to catch double wiring."""

    rack_dir: Path
    virtual: bool
    boards: dict[str, RelayBoard] = field(default_factory=dict)
    wired: dict[tuple[str, int], Cursor] = field(default_factory=dict)
    ports: dict[str, Cursor] = field(default_factory=dict)

    def relays(self, cursor: Cursor) -> tuple[RelayBoard, ...]:
        return cursor.list_of(self.relay_board)

    def relay_board(self, cursor: Cursor) -> RelayBoard:
        values = cursor.fields(
            required={"name": _word, "driver": _driver, "port": self.port},
            optional={"baud": _baud, "channels": _channels, "ascii": read_ascii},
        )
        board = RelayBoard(**values)
        if board.driver == "ascii" and board.ascii is None:
            raise cursor.error(f"relay board {board.name}: the ascii driver needs `ascii:`")
        if board.name in self.boards:
            raise cursor.child(cursor.node, "name").error(f"duplicate relay board {board.name}")
        self.boards[board.name] = board
        return board

    def link(self, cursor: Cursor) -> RelayLink:
        values = cursor.fields(required={"relay": _word, "channel": _channel_number})
        link = RelayLink(**values)
        board = self.boards.get(link.relay)
        if board is None:
            known = ", ".join(self.boards) or "none declared under bench.relays"
            raise cursor.error(f"no relay board named {link.relay} (boards: {known})")
        if link.channel > board.channels:
            raise cursor.error(
                f"relay board {board.name} has channels 1-{board.channels}, not {link.channel}"
            )
        first = self.wired.setdefault((link.relay, link.channel), cursor)
        if first is not cursor:
            raise cursor.error(
                f"channel {link.channel} of {link.relay} is already wired at line {first.line}"
            )
        return link

    def console(self, cursor: Cursor) -> SerialConsole:
        values = cursor.fields(required={"port": self.port}, optional={"baud": _baud})
        return SerialConsole(**values)

    def port(self, cursor: Cursor) -> str:
        text = cursor.string().strip()
        if not text:
            raise cursor.error("a port is a device path, rfc2217://HOST:PORT or socket://HOST:PORT")
        scheme, sep, rest = text.partition("://")
        if sep:
            if scheme not in URL_SCHEMES:
                raise cursor.error(
                    f"{text}: pyserial URLs here are rfc2217:// or socket://, not {scheme}://"
                )
            host, _ = cursor.apply(validators.host_port, rest.split("?", 1)[0])
            if self.virtual:
                cursor.apply(validators.loopback_ipv4, host)
            port = text
        elif self.virtual:
            port = self._virtual_port(cursor, text)
        else:
            path = Path(text)
            port = str(path if path.is_absolute() else (self.rack_dir / path).resolve())
        first = self.ports.setdefault(port, cursor)
        if first is not cursor:
            raise cursor.error(f"port {text} is already used at line {first.line}")
        return port

    def _virtual_port(self, cursor: Cursor, text: str) -> str:
        """A virtual rack's device path: in the rack file's folder or below, where the
        simulator links its pty; its last part is kept as it is (a stale link there is
        the simulator's own, not a device to follow)."""
        home = self.rack_dir.resolve()
        joined = Path(os.path.normpath(self.rack_dir.absolute() / text))
        folder = joined.parent.resolve()
        if joined.name in ("", ".", "..") or not folder.is_relative_to(home):
            raise cursor.error(
                f"{text}: a virtual rack's port path must lie in the rack file's folder "
                f"({home}) or below: the virtual rack makes its link there"
            )
        return str(folder / joined.name)


def read_ascii(cursor: Cursor) -> AsciiCommands:
    # Not `on:`/`off:` as keys: YAML 1.1 reads those as booleans.
    values = cursor.fields(
        required={"switch_on": _template, "switch_off": _template}, optional={"reply": _reply}
    )
    return AsciiCommands(
        on=values["switch_on"], off=values["switch_off"], reply=values.get("reply")
    )


def _template(cursor: Cursor) -> str:
    text = cursor.string()
    if "{channel}" not in text:
        raise cursor.error(f"{text!r} must contain {{channel}}, where the channel number goes")
    try:
        text.format(channel=1)
    except (IndexError, KeyError, ValueError):
        raise cursor.error(f"{text!r}: only {{channel}} may appear in braces") from None
    return text


def _reply(cursor: Cursor) -> str:
    text = cursor.string()
    if not text.strip():
        raise cursor.error("reply must not be empty: leave it out for a board that answers nothing")
    return text


def _word(cursor: Cursor) -> str:
    return cursor.checked(validators.word)


def _driver(cursor: Cursor) -> str:
    text = cursor.string()
    if text not in RELAY_DRIVERS:
        raise cursor.error(f"unknown relay driver {text!r} (known: {', '.join(RELAY_DRIVERS)})")
    return text


def _baud(cursor: Cursor) -> int:
    value = cursor.integer()
    if not 50 <= value <= 4_000_000:
        raise cursor.error(f"baud rate {value} is outside 50-4000000")
    return value


def _channels(cursor: Cursor) -> int:
    value = cursor.integer()
    if not 1 <= value <= 64:
        raise cursor.error(f"a board has 1-64 channels, not {value}")
    return value


def _channel_number(cursor: Cursor) -> int:
    value = cursor.integer()
    if value < 1:
        raise cursor.error(f"channels count from 1, not {value}")
    return value
