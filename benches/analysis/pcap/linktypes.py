"""The link types a capture's records may carry, as pcap and pcapng number them.

https://www.tcpdump.org/linktypes.html. A file of any other link type is refused
(:mod:`~benches.analysis.pcap.files`); finding the IP packet behind each link
header is :mod:`~benches.analysis.network.packets`' job.
"""

from __future__ import annotations

# 12 and 14 are raw IP as some BSDs number it in files.
NULL, ETHERNET, RAW, SLL, LOOP, RAW4, RAW6, SLL2 = 0, 1, 101, 113, 108, 228, 229, 276
LINK_TYPES = {
    NULL: "null",
    ETHERNET: "ethernet",
    RAW: "raw",
    12: "raw",
    14: "raw",
    SLL: "sll",
    LOOP: "loop",
    RAW4: "ipv4",
    RAW6: "ipv6",
    SLL2: "sll2",
}
