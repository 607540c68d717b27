"""A TEST client run in mitmdump's venv (it needs the `h2` package): over TLS with ALPN h2,
from a given source address, it POSTs gzip'd JSON holding an IMEI, as the analytics client
of issue 15 does. Exit 0 when the response came, 3 when the TLS handshake was refused.

    python h2_client.py SOURCE_IP HOST:PORT SNI IMEI (--cafile FILE | --pinned)

``--pinned`` trusts only the system's CAs (as a client that pins its vendor's
certificate would): the interceptor's certificate is refused.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events


def main(argv: list[str]) -> int:
    source, target, sni, imei, mode, *rest = argv
    host, _, port = target.rpartition(":")
    context = ssl.create_default_context()
    if mode == "--cafile":
        context = ssl.create_default_context(cafile=rest[0])
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0))
    try:
        sock = context.wrap_socket(raw, server_hostname=sni)
    except ssl.SSLError as error:
        print(f"refused: {error.reason}", file=sys.stderr)
        raw.close()
        return 3
    body = gzip.compress(json.dumps({"imei": imei, "event": "boot"}).encode())
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    headers = [(":method", "POST"), (":scheme", "https"), (":authority", sni),
               (":path", "/v1/events"), ("content-type", "application/json"),
               ("content-encoding", "gzip"), ("content-length", str(len(body)))]  # fmt: skip
    connection.send_headers(1, headers)
    connection.send_data(1, body, end_stream=True)
    sock.sendall(connection.data_to_send())
    done = False
    while not done:
        data = sock.recv(65536)
        if not data:
            break
        for event in connection.receive_data(data):
            if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                done = True
        sock.sendall(connection.data_to_send())
    connection.close_connection()
    sock.sendall(connection.data_to_send())
    sock.close()
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
