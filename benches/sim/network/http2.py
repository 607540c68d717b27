"""HTTP/2 over TLS (ALPN h2) for the virtual rack: a phone's one request, an endpoint's replies.

Both sides use the `h2` package's state machine on a connected TLS socket; a
peer that breaks the protocol ends the connection (OSError for the client).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

import h2.config
import h2.connection
import h2.events
import h2.exceptions

READ = 65536
MAX_BODY = 1024 * 1024  # what an endpoint reads of one request body


def request(
    sock: socket.socket,
    host: str,
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
) -> int:
    """One request on a fresh h2 connection; the response's status (0: none came)."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    fields = [(":method", method), (":scheme", "https"), (":authority", host), (":path", path)]
    fields += [(name.lower(), value) for name, value in headers]
    fields.append(("content-length", str(len(body))))
    connection.send_headers(stream, fields, end_stream=not body)
    if body:
        connection.send_data(stream, body, end_stream=True)  # within the default window
    sock.sendall(connection.data_to_send())
    status = 0
    try:
        while chunk := sock.recv(READ):
            for event in connection.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                    status = int(dict(event.headers).get(b":status", b"0"))
                elif isinstance(event, h2.events.DataReceived):
                    connection.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                elif (
                    isinstance(event, h2.events.StreamEnded | h2.events.StreamReset)
                    and event.stream_id == stream
                ):
                    connection.close_connection()
                    sock.sendall(connection.data_to_send())
                    return status
            sock.sendall(connection.data_to_send())
    except h2.exceptions.ProtocolError as error:
        raise OSError(f"HTTP/2: {error}") from None
    return status


def serve(sock: socket.socket, reply: Callable[[str, str], tuple[int, bytes]]) -> None:
    """Answer every request of one h2 connection with `reply(method, path)` until it closes."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    connection.initiate_connection()
    sock.sendall(connection.data_to_send())
    requests: dict[int, tuple[str, str]] = {}
    received: dict[int, int] = {}
    try:
        while chunk := sock.recv(READ):
            for event in connection.receive_data(chunk):
                if isinstance(event, h2.events.RequestReceived):
                    fields = {name: value for name, value in event.headers}
                    requests[event.stream_id] = (
                        _text(fields.get(b":method", b"GET")),
                        _text(fields.get(b":path", b"/")),
                    )
                elif isinstance(event, h2.events.DataReceived):
                    received[event.stream_id] = received.get(event.stream_id, 0) + len(event.data)
                    connection.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                    if received[event.stream_id] > MAX_BODY:
                        connection.reset_stream(event.stream_id)
                        requests.pop(event.stream_id, None)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id in requests:
                    method, path = requests.pop(event.stream_id)
                    status, body = reply(method, path)
                    connection.send_headers(
                        event.stream_id,
                        [
                            (":status", str(status)),
                            ("content-type", "application/json"),
                            ("content-length", str(len(body))),
                        ],
                        end_stream=not body,
                    )
                    if body:
                        connection.send_data(event.stream_id, body, end_stream=True)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    sock.sendall(connection.data_to_send())
                    return
            sock.sendall(connection.data_to_send())
    except (h2.exceptions.ProtocolError, OSError):
        return


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)
