"""What the readers could not read on a flow, said on the flow: the analyzer fails closed.

A reader that gives up, runs out of budget or meets a version it cannot read
adds a :class:`FlowNote` to its flow's facts. The bytes are still searched raw
(:mod:`~benches.analysis.inspection`); the note says what decoding could not add.
The policy (:mod:`benches.policy.evaluation`) decides which notes make a
verdict inconclusive: :data:`BLINDING` always, :data:`BLINDING_WITH_HOSTS` when
the build's policy names the hosts a phone may reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A decoder lost its footing and read on after it (the bytes stay searched raw).
DECODER_RESYNC = "decoder-resync"
# A decoder stopped for good on this flow (the bytes stay searched raw).
DECODER_GAVE_UP = "decoder-gave-up"
# Decoding stopped at a budget (decompressed bytes, kept bytes): what lay past it was
# never searched in decoded form.
BUDGET_SPENT = "budget-spent"
# A QUIC (or Google QUIC) version the bench cannot read: its server name is unknown.
QUIC_UNREAD = "quic-unread-version"

# The flow's phone was known by its MAC at an address devices.yaml does not give it
# (DHCP gave it another): the flow is judged as the phone's, and says so.
ADDRESS_CHANGED = "address-changed"

# Seen through the TLS interceptor (benches.analysis.interception): a record of its file
# that could not be read whole (a body it cut short, a line that breaks the schema), or
# decrypted messages of a connection the capture does not show.
INTERCEPTION_UNREAD = "interception-unread"
INTERCEPTION_UNJOINED = "interception-unjoined"
# A phone's TLS flow on a port the interceptor takes that it did not open (the client
# refused its certificate: pinning, or no trust in the bench's CA). The policy decides:
# inconclusive unless the host may receive identifiers or is listed in opaque_hosts.
TLS_OPAQUE = "tls-opaque"

BLINDING = frozenset({BUDGET_SPENT, INTERCEPTION_UNREAD, INTERCEPTION_UNJOINED})
BLINDING_WITH_HOSTS = frozenset({QUIC_UNREAD})


@dataclass(frozen=True, slots=True)
class FlowNote:
    kind: str  # one of the constants above
    detail: str  # for people: what happened, where (no identifier in it: masked later anyway)
    frame: int  # the frame where it happened (0 when not known)

    def to_dict(self, scrub: Callable[[str | None], str | None] | None = None) -> dict[str, Any]:
        """JSON-able; ``scrub`` masks any identifier in the detail."""
        detail = scrub(self.detail) if scrub is not None else self.detail
        return {"kind": self.kind, "detail": detail, "frame": self.frame}
