"""A real gateway's redirect: the phones' TCP 443 and 80 to mitmdump's transparent mode, and
their UDP 443 (QUIC) dropped and counted while the bench intercepts, so apps fall back to
TCP and the blocked attempts are on record.

The rules are one nftables table of the bench's own (``inet bench_interception``),
loaded with ``nft -f -`` (the text on stdin, never a shell), replaced whole when
installed again and deleted by `remove()`; nothing else in the ruleset is
touched. The phones' addresses and the LAN interface come from devices.yaml and
are checked again here before they are written into the rules.

    table inet bench_interception {
      counter quic_blocked_1 { }         # one per phone: each window's count is its own
      chain prerouting {   # nat: the phones' TCP 443/80 to the interceptor's port
        type nat hook prerouting priority dstnat; policy accept;
        iifname "lan0" ip saddr { 192.168.50.11 } tcp dport { 80, 443 } redirect to :8080
      }
      chain quic {         # filter: their QUIC, dropped and counted
        type filter hook forward priority filter; policy accept;
        iifname "lan0" ip saddr 192.168.50.11 udp dport 443 counter name quic_blocked_1 drop
      }
    }

On the virtual rack the phones are this host's own sockets on 127/8: the same
table (named per bench) without the redirect (mitmdump is in reverse mode there),
its QUIC chain on the `output` hook, matching only the rack's phone addresses.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

TABLE = "bench_interception"
QUIC_COUNTER = "quic_blocked"
REDIRECTED_PORTS = (80, 443)
_INTERFACE = re.compile(r"[A-Za-z0-9_.:-]{1,15}")


class RedirectError(RuntimeError):
    """The redirect cannot be installed; one line naming what is missing."""


@dataclass(frozen=True)
class QuicBlocked:
    packets: int
    bytes: int


@dataclass(frozen=True)
class RedirectRules:
    phones: tuple[str, ...]  # the phones' IPv4 and IPv6 addresses
    # The gateway's interface on the phones' side; None: the phones are this host's own
    # sockets (the virtual rack), whose datagrams the `output` hook sees.
    lan_interface: str | None
    proxy_port: int | None  # mitmdump's transparent listener; None: no TCP redirect
    table: str = TABLE
    nft: str = "nft"
    launcher: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", "gw"): a test's gateway

    def counter(self, address: str) -> str:
        """The name of the counter of `address`'s blocked QUIC datagrams."""
        wanted = _canonical(address)
        index = next(i for i, phone in enumerate(self.phones) if _canonical(phone) == wanted)
        return f"{QUIC_COUNTER}_{index + 1}"

    def ruleset(self) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", self.table):
            raise RedirectError(f"not a table name: {self.table!r}")
        interface = ""
        if self.lan_interface is not None:
            if not _INTERFACE.fullmatch(self.lan_interface):
                raise RedirectError(f"not an interface name: {self.lan_interface!r}")
            interface = f'iifname "{self.lan_interface}" '
        if self.proxy_port is not None and not 0 < self.proxy_port < 65536:
            raise RedirectError(f"not a port: {self.proxy_port}")
        v4, v6 = _addresses(self.phones)
        ports = ", ".join(str(port) for port in REDIRECTED_PORTS)
        redirect, drop, counters = [], [], []
        for family, addresses in (("ip", v4), ("ip6", v6)):
            if addresses and self.proxy_port is not None:
                phones = f"{family} saddr {{ {', '.join(addresses)} }}"
                redirect.append(
                    f"    {interface}{phones} tcp dport {{ {ports} }} "
                    f"redirect to :{self.proxy_port}"
                )
            for address in addresses:
                name = self.counter(address)
                counters.append(f"  counter {name} {{ }}")
                match = f"{interface}{family} saddr {address} udp dport 443"
                drop.append(f"    {match} counter name {name} drop")
        hook = "forward" if self.lan_interface is not None else "output"
        nat = []
        if redirect:
            nat = [
                "  chain prerouting {",
                "    type nat hook prerouting priority dstnat; policy accept;",
                *redirect,
                "  }",
            ]
        return "\n".join(
            [
                # Declared, then deleted, then made: one atomic replacement of our table only.
                f"table inet {self.table}",
                f"delete table inet {self.table}",
                f"table inet {self.table} {{",
                *counters,
                *nat,
                "  chain quic {",
                f"    type filter hook {hook} priority filter; policy accept;",
                *drop,
                "  }",
                "}",
                "",
            ]
        )

    def install(self) -> None:
        """Load the rules; RedirectError naming the missing capability when it cannot."""
        self._nft(["-f", "-"], self.ruleset())

    def remove(self) -> None:
        """Delete the bench's table (never raises: a table already gone is fine)."""
        with contextlib.suppress(RedirectError):
            self._nft(["delete", "table", "inet", self.table])

    def quic_blocked(self, address: str | None = None) -> QuicBlocked:
        """The QUIC datagrams dropped since the rules were installed: `address`'s, or all."""
        listed = self._nft(["-j", "list", "counters", "table", "inet", self.table])
        wanted = (
            {self.counter(address)}
            if address is not None
            else {self.counter(a) for a in self.phones}
        )
        packets = size = 0
        try:
            for item in json.loads(listed).get("nftables", []):
                counter = item.get("counter") if isinstance(item, dict) else None
                if isinstance(counter, dict) and counter.get("name") in wanted:
                    packets += int(counter["packets"])
                    size += int(counter["bytes"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RedirectError(f"nft's QUIC counters are unreadable: {listed[:80]!r}") from None
        return QuicBlocked(packets, size)

    def _nft(self, args: Sequence[str], stdin: str | None = None) -> str:
        nft = shutil.which(self.nft)
        if nft is None:
            raise RedirectError(
                "the gateway's redirect needs nftables: `nft` is not installed "
                "(apt-get install nftables)"
            )
        done = subprocess.run(
            [*self.launcher, nft, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            error = done.stderr.strip().splitlines()
            first = error[0] if error else f"exit code {done.returncode}"
            if "Operation not permitted" in done.stderr:
                raise RedirectError(
                    "the gateway's redirect needs CAP_NET_ADMIN (run the bench as root): "
                    f"nft: {first}"
                )
            raise RedirectError(f"nft {' '.join(args[:2])} failed: {first}")
        return done.stdout


def _canonical(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def _addresses(phones: Sequence[str]) -> tuple[list[str], list[str]]:
    v4: list[str] = []
    v6: list[str] = []
    for text in phones:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise RedirectError(f"not a phone address: {text!r}") from None
        (v4 if address.version == 4 else v6).append(str(address))
    if not v4 and not v6:
        raise RedirectError("no phone address to redirect (devices.yaml network.ipv4/ipv6)")
    return v4, v6
