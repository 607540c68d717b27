"""Opening a bench's serial ports, whatever shares them.

A port is anything pyserial's ``serial_for_url`` opens: a device path
(``/dev/ttyUSB0``, or a pty's link on the virtual rack), ``socket://HOST:PORT``
(a raw TCP port, e.g. ser2net in raw mode) or ``rfc2217://HOST:PORT`` (ser2net
or any RFC 2217 server, which also carries baud rate and line settings).

A port that cannot be opened is a bench problem a person must fix, so the error
is one line naming what the port is for, the port and the reason.
"""

from __future__ import annotations

import serial


class PortError(Exception):
    """A serial port of the bench failed; the message is one line for a person."""


def open_port(
    port: str,
    baud: int,
    timeout: float,
    *,
    owner: str = "serial port",
    error: type[PortError] = PortError,
) -> serial.SerialBase:
    """Open `port` at `baud` with read and write timeouts of `timeout` seconds.

    `owner` names what the port is for in errors ("relay board relay0"); `error`
    is the class raised, so callers get their own PowerError or ConsoleError.
    """
    options: dict[str, float] = {"timeout": timeout}
    if not port.startswith("rfc2217://"):  # pyserial's RFC 2217 client has no write timeout
        options["write_timeout"] = timeout
    try:
        return serial.serial_for_url(port, baudrate=baud, **options)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise error(f"{owner}: cannot open {port}: {reason(exc)}") from None


def reason(exc: BaseException) -> str:
    """The root cause of a pyserial or OS error, on one line.

    pyserial wraps the OS error in its own (itself an OSError: "could not open
    port X: [Errno 2] ... 'X'") and repeats the port; the innermost OSError says
    the same thing once.
    """
    cause: BaseException | None = exc
    seen: set[int] = set()
    innermost: OSError | None = None
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            innermost = cause
        cause = cause.__cause__ or cause.__context__
    if innermost is None or not innermost.strerror:
        return one_line(str(exc) or type(exc).__name__)
    if innermost.errno is None:
        return one_line(innermost.strerror)
    return one_line(f"[Errno {innermost.errno}] {innermost.strerror}")


def one_line(text: str) -> str:
    return " ".join(text.split())
