"""A geo database whose owner name is hostile, and a capture that reaches its address."""

from __future__ import annotations

from pathlib import Path

from scapy.packet import Packet

from tests.support.mmdb import write_mmdb
from tests.support.pcaps import PHONE_IP, clean_boot, tls_exchange

EVIL_IP = "1.2.3.4"
# An escape sequence that turns a terminal red, and a newline that forges a line.
EVIL_OWNER = "Evil\x1b[31m\nCorp"
EVIL_OWNER_SHOWN = "Evil\\x1b[31m\\nCorp"


def evil_mmdb(path: Path) -> Path:
    record = {"country": {"iso_code": "US"}, "autonomous_system_organization": EVIL_OWNER}
    return write_mmdb(path, "GeoLite2-City", [("1.2.3.0/24", record)])


def to_evil_owner() -> list[Packet]:
    """The clean boot, plus TLS to an address the hostile database owns."""
    return clean_boot() + tls_exchange(PHONE_IP, 40009, EVIL_IP, "cdn.evil.example").packets
