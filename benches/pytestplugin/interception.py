"""The session's TLS interceptor: where it listens, its spool, started and stopped.

On the virtual rack the interceptor stands where a real gateway's would: mitmdump
in reverse mode on each endpoint's own address and port 443 (the endpoint's TLS
server moves to INTERCEPTED_TLS_PORT), so the capture still shows the phone
talking to the endpoint's address on 443, ClientHello and SNI included, and the
cut key log decrypts it. The process that opens the bench starts it; a parallel
sign-off's workers only read its spool (`interception_session`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from benches.capture.interception.interceptor import (
    Interceptor,
    InterceptorConfig,
    InterceptorError,
    modes_for,
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

HTTPS_PORT = 443
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
    """Where the interceptor listens for `rack`; InterceptorError when it cannot stand there."""
    if rack.virtual is None:
        raise InterceptorError(
            "TLS interception on a real rack needs the gateway's redirect rules, which this "
            "bench does not install yet: run with --interception off"
        )
    targets = [
        (endpoint.address, HTTPS_PORT, endpoint.address, INTERCEPTED_TLS_PORT)
        for endpoint in rack.virtual.endpoints
    ]
    folder = reports / "interception"
    confdir = Path(os.environ.get(CONFDIR_ENV) or folder / "confdir")
    return InterceptorConfig(
        modes=modes_for(targets),
        ports=(HTTPS_PORT,),
        spool=folder / "spool",
        confdir=confdir,
        # The virtual endpoints' certificates come from the rack's own CA.
        upstream_insecure=True,
    )


def start_interceptor(rack: Rack, manifest: Manifest, reports: Path) -> Interceptor | None:
    """The running interceptor when the manifest intercepts; InterceptorError when it cannot."""
    if not manifest.intercepts:
        return None
    config = interceptor_config(rack, reports)
    config.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
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
    return InterceptionSession(config.spool, " ".join(config.modes), config.ports)


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
    assert rack.virtual is not None
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
