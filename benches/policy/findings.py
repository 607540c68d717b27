"""What a finding is: one thing a build's policy forbids, with the evidence for it.

Finding kinds:

``cleartext_identifier``
    An identifier or the bench's location in bytes read off the wire. Nobody
    may receive identifiers in the clear. Inside a TLS connection's wire bytes
    this still means cleartext (SNI, certificates, bytes outside records):
    ciphertext does not spell out a 15-digit IMEI by chance.
``identifier_leak``
    An identifier in decrypted traffic (a TLS-intercepting proxy: "inside TLS") to a
    destination that is not an identifier recipient over TLS: some name the
    flow claims (DNS name, SNI, Host) does not match
    ``policy.identifier_recipients``, or the flow has no name.
``region_violation``
    A destination outside the bench's network whose country is not in
    ``policy.allowed_countries``.
``host_violation``
    ``policy.allowed_hosts`` is non-empty and a destination outside the
    bench's network has no name, or claims a name that matches none of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import PurePath
from typing import Any

from benches.analysis.attribution.embedded import describe
from benches.redaction.masks import identifier_label
from benches.redaction.printable import printable

CLEARTEXT_IDENTIFIER = "cleartext_identifier"
IDENTIFIER_LEAK = "identifier_leak"
REGION_VIOLATION = "region_violation"
HOST_VIOLATION = "host_violation"
KINDS = (CLEARTEXT_IDENTIFIER, IDENTIFIER_LEAK, REGION_VIOLATION, HOST_VIOLATION)
# The kinds that carry an identifier: the report shows them first, in red.
LEAK_KINDS = frozenset({CLEARTEXT_IDENTIFIER, IDENTIFIER_LEAK})
# The detector's forms that spell an identifier as devices.yaml writes it (a location:
# in decimal degrees). Sent that way, in plain text, a message need not say how.
PLAIN_FORMS = frozenset({"imei-15", "iccid", "imsi", "serial", "mac-colon", "decimal"})


@dataclass(frozen=True)
class Finding:
    kind: str
    device: str | None  # the phone's label, its masked serial ("SI…1"): redact.device_label
    identifier: str | None  # identifier kind ("imei", ..., "location"); None otherwise
    value: str | None  # the identifier, MASKED
    encoding: str | None
    dst_ip: str
    dst_port: int
    dst_host: str | None
    country: str | None
    owner: str | None
    protocol: str
    packet: int  # frame number in the pcap
    pcap: str
    evidence: str  # decoded bytes around the match (identifiers masked), or what was seen
    occurrences: int = 1  # times the same identifier showed up in the same flow
    form: str | None = None  # how the identifier was written: "imei-14", "iccid-bcd", ...
    # The IPv4 dst_ip stands for, which placed it, and how it is embedded ("nat64",
    # "nat64-local", "6to4", "teredo", "ipv4-mapped"); None for an ordinary address.
    dst_embedded_ipv4: str | None = None
    dst_embedding: str | None = None

    def message(self) -> str:
        """One line for people; names from the capture or the geo database are escaped
        (``printable``), so none can colour a terminal or forge a second line."""
        return printable(self._message())

    def _message(self) -> str:
        where = f"packet {self.packet} of {PurePath(self.pcap).name}"
        destination = _destination(self)
        if self.kind == CLEARTEXT_IDENTIFIER:
            what = f"{identifier_label(self.identifier or '')} {self.value}{self._written()}"
            return f"{what} in cleartext to {destination}, {where}"
        if self.kind == IDENTIFIER_LEAK:
            what = f"{identifier_label(self.identifier or '')} {self.value}{self._written()}"
            # Only a TLS interceptor hands the analyzer decrypted bytes: the chain after
            # the destination says how ("tls+h2+gzip+plain").
            what = f"{identifier_label(self.identifier or '')} {self.value}"
            return (
                f"{what} sent inside TLS to {destination}, not an identifier recipient"
                f"{self._written()}, {where}"
            )
        if self.kind == REGION_VIOLATION:
            return f"traffic to {destination}, a country the policy does not allow, {where}"
        if self.kind == HOST_VIOLATION:
            return f"traffic to {destination}, not an allowed host, {where}"
        return f"{self.kind}: {destination}, {where}"

    def _written(self) -> str:
        """How the identifier was disguised, as ' (imei-14, base64)'; nothing when it
        was sent as devices.yaml writes it."""
        if self.form is None or (self.encoding == "plain" and self.form in PLAIN_FORMS):
            return ""
        return f" ({self.form}, {self.encoding})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message()}


def _destination(finding: Finding) -> str:
    country = finding.country or "country unknown"
    owner = finding.owner or "owner unknown"
    address = finding.dst_ip
    if finding.dst_embedding is not None:
        address += f", {describe(finding.dst_embedding, finding.dst_embedded_ipv4)}"
    if finding.dst_host:
        return f"{finding.dst_host} ({address}, {country}, {owner})"
    return f"{address} (no name, {country}, {owner})"
