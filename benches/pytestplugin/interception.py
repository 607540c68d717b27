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
from pathlib import Path

from benches.capture.interception.interceptor import (
    Interceptor,
    InterceptorConfig,
    InterceptorError,
    modes_for,
)
from benches.capture.interception.session import InterceptionSession
from benches.inventory.models import Manifest, Rack
from benches.inventory.virtual import INTERCEPTED_TLS_PORT

HTTPS_PORT = 443
CONFDIR_ENV = "BENCH_MITMPROXY_CONFDIR"  # the bench's CA, kept between sessions
SPOOL_FILES = (
    "ready",
    "messages.jsonl",
    "connections.jsonl",
    "flows.mitm",
    "flows.index.jsonl",
    "keylog.txt",
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
