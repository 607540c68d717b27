"""The files an intercepted cycle leaves beside its pcap, and what each holds.

The interceptor (mitmproxy, in its own process and virtual environment) writes a
session spool; at the end of each cycle the bench cuts from it, by the phone's
address and the cycle's window, four files next to ``X.pcap``:

- ``X.flows``: mitmproxy's own flow file (``mitmproxy.io`` format), for a person
  to open in mitmweb or mitmproxy.
- ``X.keylog``: the TLS key log of the cycle's intercepted sessions, in the
  NSS SSLKEYLOGFILE format (``CLIENT_RANDOM ...`` or TLS 1.3 secret lines), so
  Wireshark or tshark can decrypt ``X.pcap``.
- ``X.intercepted.jsonl``: what the analyzer reads, one JSON object per line,
  written by the bench's mitmproxy addon:

  - ``{"kind": "request" | "response", "flow": id, "client": "ip:port",
    "server": "ip:port", "sni": str | null, "http_version": "HTTP/1.1" |
    "HTTP/2.0", "method": str, "host": str, "path": str, "status": int | null,
    "headers": [[name, value], ...], "content": base64, "content_size": int,
    "content_truncated": bool, "time": float}``; ``content`` is the body as
    sent, still content-encoded (gzip, br, ...), so the analyzer's own decoders
    and budgets apply to it;
  - ``{"kind": "websocket", "flow": id, "client", "server", "sni",
    "from_client": bool, "text": bool, "content": base64, "time": float}``;
  - ``{"kind": "tls_failed", "client", "server", "sni", "error": str,
    "time": float}``: a client that refused the interceptor's certificate
    (pinning, or a phone that does not trust the bench's CA).

  ``client`` is the phone's own address and port as the pcap shows them, and
  ``server`` the original destination, so each record joins the pcap's flow.
- ``X.interception.json``: ``{"interceptor": "mitmproxy 11.0.2", "mode": str,
  "ports": [443, ...], "phone": "ip", "window": [start, end], "complete": bool,
  "reason": str | null, "quic_blocked": int | null}``; ``complete`` is false when
  the interceptor was not running for the whole window, which makes the cycle
  inconclusive; ``quic_blocked`` is how many of the phone's UDP 443 datagrams the
  gateway dropped in the window (null: nothing counted them). On a real gateway
  the capture (LAN side) sees those datagrams too; on the virtual rack they are
  dropped before the loopback capture, so only this count shows them.

Every one of them is written owner-only, like the pcap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InterceptionFiles:
    flows: Path
    keylog: Path
    messages: Path
    meta: Path

    @classmethod
    def beside(cls, pcap: Path) -> InterceptionFiles:
        stem = pcap.with_suffix("")
        return cls(
            flows=stem.with_name(stem.name + ".flows"),
            keylog=stem.with_name(stem.name + ".keylog"),
            messages=stem.with_name(stem.name + ".intercepted.jsonl"),
            meta=stem.with_name(stem.name + ".interception.json"),
        )
