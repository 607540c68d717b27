"""The host side's reading of an ADB message, for the tests that talk to the virtual adbd raw.

The daemon only reads headers as they stream in (`benches.sim.adbd.wire.parse_header`);
a test reads whole messages, and checks the payload's checksum, which the
daemon never needs to.
"""

from __future__ import annotations

from benches.sim.adbd.wire import (
    HEADER_SIZE,
    MAX_PAYLOAD,
    AdbMessage,
    AdbProtocolError,
    checksum,
    parse_header,
)


def decode(
    data: bytes, max_payload: int = MAX_PAYLOAD, *, verify_checksum: bool = False
) -> AdbMessage:
    """Decode exactly one whole message (header + payload) from ``data``."""
    header = parse_header(bytes(data[:HEADER_SIZE]), max_payload)
    payload = bytes(data[HEADER_SIZE:])
    if len(payload) != header.data_length:
        raise AdbProtocolError(f"payload is {len(payload)} bytes, header says {header.data_length}")
    if verify_checksum and checksum(payload) != header.data_check:
        raise AdbProtocolError("payload checksum mismatch")
    return AdbMessage(header.command, header.arg0, header.arg1, payload)
