"""What the firmware under test makes a virtual phone send, event by event.

A manifest's `virtual.behaviours` lists the behaviours its build runs. Each is
a function of the phone's network, its facts and the event, fired on the
events it listens to:

* BOOT: BOOT_COMPLETED, once `sys.boot_completed=1`;
* UNLOCK: ACTION_USER_PRESENT, when the keyguard is dismissed;
* ACTIVATION: the first time after a factory reset that the phone is
  provisioned with its SIM ready and a network up.

The leaky build's `cn_activation_client` reproduces the 2019 incident: it
reports at all three, naming the event in its body.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benches.inventory.models import Identity
from benches.sim.network.client import PhoneNetwork
from benches.sim.network.trust import pinned_context

log = logging.getLogger(__name__)

BOOT = "boot"
UNLOCK = "unlock"
ACTIVATION = "activation"
EVENTS = (BOOT, UNLOCK, ACTIVATION)


@dataclass(frozen=True)
class PhoneFacts:
    """What the firmware knows about the phone it runs on."""

    identity: Identity
    build: str
    model: str
    latitude: float
    longitude: float
    pinned_ca: bytes = b""  # the CA a pinned app ships and trusts alone (PEM)


Behaviour = Callable[[PhoneNetwork, PhoneFacts, str], None]


def connectivity_check(net: PhoneNetwork, facts: PhoneFacts, event: str) -> None:
    """Android's captive-portal probe: a cleartext GET that carries nothing personal."""
    net.http("connectivity.vendor.example", "GET", "/generate_204")


def vendor_update_tls(net: PhoneNetwork, facts: PhoneFacts, event: str) -> None:
    """The vendor's update check, over TLS to an allowed identifier recipient."""
    body = json.dumps({"imei": facts.identity.imei[0], "build": facts.build})
    net.http("fota.vendor.example", "POST", "/v1/check", body.encode(), tls=True)


def cn_activation_client(net: PhoneNetwork, facts: PhoneFacts, event: str) -> None:
    """The China-variant activation client that shipped by mistake in 2019."""
    body = json.dumps(
        {
            "event": event,
            "imei": facts.identity.imei[0],
            "iccid": facts.identity.iccid,
            "sn": facts.identity.serial,
            "lat": round(facts.latitude, 4),
            "lon": round(facts.longitude, 4),
            "model": facts.model,
        }
    )
    net.http("zfhmd.vnet.cn", "POST", "/api/v2/activate", body.encode())


def partner_analytics(net: PhoneNetwork, facts: PhoneFacts, event: str) -> None:
    """A third-party analytics SDK: the IMEI in gzip'd JSON over HTTPS (HTTP/2 when the
    server offers it), then its remote config fetched with the SDK's own certificate pin,
    which refuses any certificate but its server's (an interceptor's included)."""
    body = json.dumps({"event": event, "device": {"imei": facts.identity.imei[0]}})
    net.http(
        "analytics.partner.example",
        "POST",
        "/v2/events",
        gzip.compress(body.encode(), mtime=0),
        tls=True,
        headers=[("Content-Encoding", "gzip")],
    )
    if facts.pinned_ca:
        net.http(
            "analytics.partner.example",
            "GET",
            "/v2/config",
            tls=True,
            context=pinned_context(facts.pinned_ca),
        )


BEHAVIOURS: dict[str, tuple[Behaviour, frozenset[str]]] = {
    # Android probes for a captive portal whenever a network is validated, also on unlock.
    "connectivity_check": (connectivity_check, frozenset({BOOT, UNLOCK})),
    # The setup wizard checks for a system update during activation, as at boot.
    "vendor_update_tls": (vendor_update_tls, frozenset({BOOT, ACTIVATION})),
    "cn_activation_client": (cn_activation_client, frozenset(EVENTS)),
    "partner_analytics": (partner_analytics, frozenset({BOOT, UNLOCK})),
}


class UnknownBehaviour(ValueError):
    pass


class Firmware:
    def __init__(self, behaviours: Sequence[str]) -> None:
        unknown = [name for name in behaviours if name not in BEHAVIOURS]
        if unknown:
            known = ", ".join(sorted(BEHAVIOURS))
            raise UnknownBehaviour(f"unknown behaviour {unknown[0]!r} (known: {known})")
        self.behaviours = tuple(behaviours)

    def fire(
        self,
        event: str,
        net: PhoneNetwork,
        facts: PhoneFacts,
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        """Run the behaviours listening to `event` while `alive()` (the phone still has power)."""
        for name in self.behaviours:
            behaviour, events = BEHAVIOURS[name]
            if event not in events:
                continue
            if not alive():
                return
            try:
                behaviour(net, facts, event)
            except OSError as error:
                # An app failing to reach its server is the phone's business, not the bench's.
                log.info("%s: %s on %s failed: %s", facts.identity.serial, name, event, error)
