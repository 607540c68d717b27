"""The DNS names that are the bench's own, not the firmware's.

The canaries (``c<random>.canary.bench.invalid``) are names the bench makes
the phone look up at the start and end of every window. ``.invalid`` never
resolves on the internet (RFC 6761), so no DNS answer can back them: the
analysis takes them as the bench's without one.
"""

from __future__ import annotations

CANARY_DOMAIN = "canary.bench.invalid"
BENCH_DOMAINS = (CANARY_DOMAIN,)


def is_bench_name(name: str) -> bool:
    """Whether ``name`` is one of the bench's own (a canary), case-insensitively."""
    name = name.lower().rstrip(".")
    return any(name == domain or name.endswith("." + domain) for domain in BENCH_DOMAINS)
