"""A TCP listening socket on this machine: what adbd, the fastboot server and a
``socket://`` serial port each listen with."""

from __future__ import annotations

import socket


def tcp_listener(host: str, port: int, backlog: int, timeout: float | None = None) -> socket.socket:
    """A socket listening on ``host:port`` (port 0: any free one); closed again if it cannot.

    ``timeout`` bounds each ``accept()``, so a serving thread can look up now and then.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(backlog)
        if timeout is not None:
            listener.settimeout(timeout)
    except BaseException:
        listener.close()
        raise
    return listener
