"""The session's TLS interceptor: where it listens, its spool, started and stopped.

On a real rack mitmdump runs in transparent mode on the gateway, and the bench's
nftables rules redirect the phones' TCP 80/443 to it and drop (and count) their
UDP 443. On the virtual rack the interceptor stands where a real gateway's would: mitmdump
in reverse mode on each endpoint's own address and port 443 (the endpoint's TLS
server moves to INTERCEPTED_TLS_PORT), so the capture still shows the phone
talking to the endpoint's address on 443, ClientHello and SNI included, and the
cut key log decrypts it. The process that opens the bench starts it; a parallel
sign-off's workers only read its spool (`interception_session`).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

from benches.capture.interception.interceptor import (
    Interceptor,
    InterceptorConfig,
    InterceptorError,
    modes_for,
)
from benches.capture.interception.redirect import (
    REDIRECTED_PORTS,
    TABLE,
    RedirectError,
    RedirectRules,
)
from benches.capture.interception.session import (
    REFUSED,
    TRUSTED,
    InterceptionSession,
    PhoneTrust,
)
from benches.inventory.models import Manifest, Rack
from benches.inventory.virtual import INTERCEPTED_TLS_PORT
from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.health import BenchFault
from benches.rack.session import BenchSession
from benches.rack.trust.install import TrustError, install_ca
from benches.redaction.safe_files import make_private_directory

HTTPS_PORT = 443
TRANSPARENT_PORT = 8080  # mitmdump's listener on a real gateway, where the redirect sends
REAL_PROBE_HOST = "www.google.com"  # the preflight's page on a real rack (Android's own probe)
VIEW = "android.intent.action.VIEW"  # the preflight: the phone's browser opens a page
PREFLIGHT_TIMEOUT_S = 15.0
CONFDIR_ENV = "BENCH_MITMPROXY_CONFDIR"  # the bench's CA, kept between sessions
SPOOL_FILES = (
    "ready",
    "messages.jsonl",
    "connections.jsonl",
    "flows.mitm",
    "flows.index.jsonl",
    "keylog.txt",
    "phones.json",
)


def interceptor_config(rack: Rack, reports: Path) -> InterceptorConfig:
    """Where the interceptor listens for `rack`: on a real gateway, mitmdump's transparent
    port the redirect sends the phones' TCP 80/443 to; on the virtual rack, each endpoint's
    own :443 (reverse mode)."""
    folder = reports / "interception"
    confdir = Path(os.environ.get(CONFDIR_ENV) or folder / "confdir")
    if rack.virtual is None:
        return InterceptorConfig(
            modes=(f"transparent@{TRANSPARENT_PORT}",),
            ports=REDIRECTED_PORTS,
            spool=folder / "spool",
            confdir=confdir,
            root=reports,
        )
    targets = [
        (endpoint.address, HTTPS_PORT, endpoint.address, INTERCEPTED_TLS_PORT)
        for endpoint in rack.virtual.endpoints
    ]
    return InterceptorConfig(
        modes=modes_for(targets),
        ports=(HTTPS_PORT,),
        spool=folder / "spool",
        confdir=confdir,
        root=reports,
        # The virtual endpoints' certificates come from the rack's own CA.
        upstream_insecure=True,
    )


def gateway_rules(rack: Rack) -> RedirectRules:
    """The nftables rules beside the interceptor: a real gateway's redirect and QUIC block;
    on the virtual rack the QUIC block only, on its phones' own addresses."""
    phones = tuple(address for device in rack.devices for address in device.network.addresses)
    if rack.virtual is None:
        return RedirectRules(phones, rack.bench.gateway.interface, TRANSPARENT_PORT)
    # Racks of several test runs share this host: each its own table.
    table = re.sub(r"[^A-Za-z0-9_]", "_", f"{TABLE}_{rack.bench.name}")[:64]
    return RedirectRules(phones, None, None, table=table)


def start_interceptor(rack: Rack, manifest: Manifest, reports: Path) -> Interceptor | None:
    """The running interceptor when the manifest intercepts; InterceptorError when it cannot."""
    if not manifest.intercepts:
        return None
    config = interceptor_config(rack, reports)
    make_private_directory(config.spool, reports)
    for name in SPOOL_FILES:  # a previous session's spool is not this one's
        (config.spool / name).unlink(missing_ok=True)
    interceptor = Interceptor(config)
    interceptor.start()
    return interceptor


def interception_session(
    rack: Rack, manifest: Manifest, reports: Path
) -> InterceptionSession | None:
    if not manifest.intercepts:
        return None
    config = interceptor_config(rack, reports)
    rules = gateway_rules(rack)

    def quic(address: str) -> int | None:
        try:
            return rules.quic_blocked(address).packets
        except (RedirectError, StopIteration):
            return None  # no rules (nft missing on a virtual rack): nothing counted

    return InterceptionSession(config.spool, " ".join(config.modes), config.ports, quic=quic)


def install_rules(rack: Rack) -> RedirectRules | None:
    """The gateway's rules installed; RedirectError on a real rack when they cannot be (the
    interception would see nothing); on the virtual rack one line, and it goes on (its
    phones send no QUIC; an unblocked datagram is still captured and read)."""
    rules = gateway_rules(rack)
    try:
        rules.install()
    except RedirectError as error:
        if rack.virtual is None:
            raise
        sys.stderr.write(f"bench: the virtual rack's QUIC is not blocked: {error}\n")
        return None
    return rules


def trust_interceptor(
    session: BenchSession, interceptor: Interceptor, rack: Rack, manifest: Manifest
) -> list[str]:
    """The interceptor's CA on every phone, each proved by a handshake from the phone through
    the interceptor; the one-line complaints about phones that do not trust it. Their
    cycles are a bench fault (`required`) or run without interception (`optional`)."""
    shared = interception_session(rack, manifest, interceptor.config.spool.parent.parent)
    assert shared is not None
    pem = interceptor.config.ca_pem()
    host = probe_host(rack)
    complaints = []
    for phone in session.phones.values():
        addresses = phone.device.network.addresses
        if not addresses:
            continue
        reason = _trust(phone, pem, shared, addresses[0], host)
        required = manifest.interception == "required"
        shared.record_trust(addresses[0], PhoneTrust(reason is None, required, reason))
        if reason is not None and required:
            session.health.take_out(phone.serial, f"bench fault: {reason}")
        if reason is not None:
            what = "its cycles are a bench fault" if required else "it goes on without"
            complaints.append(f"{reason} (interception {manifest.interception}: {what})")
    return complaints


def probe_host(rack: Rack) -> str:
    """Where the preflight's handshake goes: a host the interceptor stands before."""
    if rack.virtual is None:
        return REAL_PROBE_HOST
    hosts = [endpoint.host for endpoint in rack.virtual.endpoints]
    return next((host for host in hosts if host.startswith("connectivity.")), hosts[0])


def _trust(
    phone: Phone, pem: bytes, shared: InterceptionSession, address: str, host: str
) -> str | None:
    """None when the phone trusts the bench's CA, else why not (one line)."""
    try:
        install_ca(phone, pem)
        since = time.time()
        phone.shell(["am", "start", "-a", VIEW, "-d", f"https://{host}/generate_204"])
    except (TrustError, PhoneError) as error:
        return f"{error}"
    deadline = time.monotonic() + PREFLIGHT_TIMEOUT_S
    while time.monotonic() < deadline:
        outcome = shared.tls_outcome(address, host, since)
        if outcome == TRUSTED:
            return None
        if outcome == REFUSED:
            return f"{phone.label}: refused the bench's CA in the preflight handshake to {host}"
        time.sleep(0.1)
    return f"{phone.label}: no preflight handshake to {host} within {PREFLIGHT_TIMEOUT_S:g}s"


def refresh_trust(
    phone: Phone, rack: Rack, manifest: Manifest, reports: Path, shared: InterceptionSession
) -> None:
    """Before a cycle: the CA back on a phone that trusted it (Android 14+ loses it at every
    reboot). BenchFault when it cannot be, and the manifest requires interception; with
    `optional` the phone goes on without (its cycles from here are not intercepted)."""
    addresses = phone.device.network.addresses
    trust = shared.phones().get(addresses[0]) if addresses else None
    if trust is None or not trust.trusted:
        return
    try:
        install_ca(phone, interceptor_config(rack, reports).ca_pem())
    except (TrustError, InterceptorError) as error:
        if trust.required:
            raise BenchFault(f"bench fault: {error}") from None
        shared.record_trust(addresses[0], PhoneTrust(False, False, str(error)))
