"""tshark as the oracle for server names: the names a client sends, as Wireshark reads them.

One tshark run per capture reads, from every frame, the names a client puts on
the wire: DNS query names (port 53), the TLS ClientHello's SNI (over TCP, and
inside the QUIC Initials tshark decrypts), Google QUIC's CHLO SNI tag, and the
HTTP request's Host. Each name comes with the frame's innermost source address
(the client, inside any tunnel), so a test can keep the names of its judged phones.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SEPARATOR, AGGREGATOR = "\x1f", "\x1e"  # never in a name tshark prints
FIELDS = (
    "frame.number",
    "frame.protocols",
    "ip.src",
    "ipv6.src",
    "udp.port",
    "tcp.port",
    "dns.flags.response",
    "dns.flags.opcode",
    "dns.qry.name",
    "tls.handshake.extensions_server_name",
    "http.request",
    "http.host",
    "gquic.tag.sni",
)
ROOT = "<Root>"  # how tshark shows a query for the root zone (".")
FALSE = {"", "0", "False", "false"}  # tshark prints booleans as 0/1 or False/True by version


@dataclass(frozen=True)
class ServerName:
    name: str  # lower case, no trailing dot; an HTTP Host without its port
    kind: str  # "dns", "tls", "quic", "gquic" or "http"
    client: str  # the innermost source address of the frame that carried it
    frame: int


def server_names(capture: Path) -> list[ServerName]:
    """Every server name a client sends in ``capture``, in frame order."""
    tshark = shutil.which("tshark")
    # `./run test` installs tshark (Debian's package); CI runs that.
    assert tshark, "tshark is missing: apt-get install tshark"
    command = [tshark, "-n", "-r", str(capture), "-T", "fields"]
    options = ("occurrence=a", f"aggregator={AGGREGATOR}", f"separator={SEPARATOR}")
    for option in options:
        command += ["-E", option]
    for name in FIELDS:
        command += ["-e", name]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, f"tshark failed on {capture.name}: {run.stderr.strip()}"
    names: list[ServerName] = []
    for line in run.stdout.split("\n")[:-1]:  # not splitlines(): it splits at \x1e too
        names.extend(_frame_names(dict(zip(FIELDS, line.split(SEPARATOR), strict=True))))
    return names


def _frame_names(row: dict[str, str]) -> list[ServerName]:
    client = _innermost_source(row)
    if client is None:
        return []
    frame = int(row["frame.number"])
    found: list[tuple[str, str]] = []
    ports = _values(row["udp.port"]) + _values(row["tcp.port"])
    responses, opcodes = _values(row["dns.flags.response"]), _values(row["dns.flags.opcode"])
    # Port 53 only: mDNS and LLMNR carry DNS messages on the local link, not to a server.
    # Standard queries only (opcode 0): a NOTIFY or an UPDATE names a zone, not a server.
    if "53" in ports and responses[:1] and responses[0] in FALSE and opcodes[:1] == ["0"]:
        found += [("dns", name) for name in _values(row["dns.qry.name"])]
    over_quic = "quic" in row["frame.protocols"].split(":")
    sni_kind = "quic" if over_quic else "tls"
    found += [(sni_kind, name) for name in _values(row["tls.handshake.extensions_server_name"])]
    if any(value not in FALSE for value in _values(row["http.request"])):
        found += [("http", _without_port(host)) for host in _values(row["http.host"])]
    found += [("gquic", name) for name in _values(row["gquic.tag.sni"])]
    return [
        ServerName(name.lower().rstrip("."), kind, client, frame)
        for kind, name in found
        if name and name != ROOT and not _is_address(name)  # neither names a server
    ]


def _innermost_source(row: dict[str, str]) -> str | None:
    """The source of the last IP or IPv6 header in the frame (inside any tunnel)."""
    layers = [p for p in row["frame.protocols"].split(":") if p in ("ip", "ipv6")]
    if not layers:
        return None
    sources = _values(row["ip.src" if layers[-1] == "ip" else "ipv6.src"])
    return sources[-1] if sources else None


def _values(field: str) -> list[str]:
    return [value for value in field.split(AGGREGATOR) if value]


def _without_port(host: str) -> str:
    if host.startswith("["):  # [2001:db8::1]:8080
        return host[1:].partition("]")[0]
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
