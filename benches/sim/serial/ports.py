"""The far end of a serial port, for the virtual rack's relay boards and consoles.

`serve_port(port, on_data, name)` serves the port a devices.yaml entry names,
so that the bench's pyserial opens it exactly as it would a real one:

* a device path: a pty in raw mode, linked at that path (`pty_port.py`);
* ``socket://HOST:PORT``: a TCP listener, one client at a time (ser2net's raw
  mode), and ``rfc2217://HOST:PORT``: the same with pyserial's RFC 2217 server
  side in front, as ser2net's telnet mode with RFC 2217 is (`tcp_port.py`).

HOST must be a loopback address: simulated traffic stays on this machine.

`PortEnd` starts and stops one with the device that owns it. What every
served port offers (`on_data`, `send()`, `line_baud()`) is in `base.py`.
"""

from __future__ import annotations

from benches.sim.serial.base import DataSink, SerialServeError, ServedPort
from benches.sim.serial.pty_port import PtyPort
from benches.sim.serial.tcp_port import TcpPort, loopback_endpoint


def serve_port(port: str, on_data: DataSink, name: str) -> ServedPort:
    """The served port for `port` (not started yet)."""
    scheme, sep, rest = port.partition("://")
    if not sep:
        return PtyPort(port, on_data, name)
    if scheme not in ("socket", "rfc2217"):
        raise SerialServeError(f"{name}: cannot serve {port}: only socket:// and rfc2217:// URLs")
    host, number = loopback_endpoint(rest, f"{name}: cannot serve {port}")
    return TcpPort(port, on_data, name, host, number, rfc2217=scheme == "rfc2217")


class PortEnd:
    """A device's end of its served port, started and stopped with the device.

    ``port`` is set before the port starts, since the port's thread may call back
    at once (and the device's callback reads ``port`` to answer); it is None while
    stopped, or when starting failed.
    """

    def __init__(self, port: str, on_data: DataSink, name: str) -> None:
        self.path = port
        self.on_data = on_data
        self.name = name
        self.port: ServedPort | None = None

    def start(self) -> None:
        port = serve_port(self.path, self.on_data, self.name)
        self.port = port
        try:
            port.start()
        except BaseException:
            self.port = None
            raise

    def stop(self) -> None:
        if self.port is not None:
            self.port.stop()
            self.port = None
