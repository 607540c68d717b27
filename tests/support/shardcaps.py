"""A capture that could tell a sharded reading from one process's (tests/analysis/test_parallel.py).

It mixes flows that two shards split, DNS answers for one address read by
different shards (one over TCP, completed by a segment that arrived late),
fragments, IPv6, VLAN tags and IP options in the middle of a flow, ICMP,
non-IP and unreadable frames, a gap and a retransmission that differs.
Files only: nothing is sent.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, UDP, IPOption_NOP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw

from tests.support.pcaps import (
    CN_IP,
    FOTA_IP,
    GATEWAY_MAC,
    IMEI,
    PHONE2_IP,
    PHONE_IP,
    PHONE_MAC,
    RESOLVER_IP,
    TcpSession,
    append_raw_record,
    clean_boot,
    dns_answer,
    dns_lookup,
    dns_query,
    http_exchange,
    http_post,
    leaky_boot,
    write_pcap,
    write_pcapng,
)


def write_mixed(folder: Path) -> tuple[Path, Path]:
    """The capture as a pcap (with a last record cut short by the snap length) and as
    a pcapng."""
    pcap = write_pcap(folder / "mixed.pcap", mixed_packets())
    append_raw_record(pcap, bytes(leaky_boot()[0])[:40], wirelen=90)
    return pcap, write_pcapng(folder / "mixed.pcapng", mixed_packets())


def shard_of(key: bytes, count: int) -> int:
    """The shard of a flow key, worked out here from the rule (the oracle the tests hold
    ``Shard.owns_key`` and the C walk to): the CRC-32 of the smaller of the key and its
    reverse (the other direction's key), modulo the number of shards."""
    half = (len(key) - 4) // 2
    back = key[half:-4] + key[:half] + key[-2:] + key[-4:-2]
    return zlib.crc32(min(key, back)) % count


def key(src: str, sport: int, dst: str, dport: int) -> bytes:
    packed = IP(src=src, dst=dst)
    return bytes(packed)[12:20] + struct.pack("!HH", sport, dport)


def port_in_shard(shard: int, src: str, dst: str, dport: int, start: int) -> int:
    """A source port from ``start`` on whose flow goes to ``shard`` of two."""
    return next(
        p for p in range(start, start + 200) if shard_of(key(src, p, dst, dport), 2) == shard
    )


def ether(packet: Packet, *, vlan: int | None = None) -> Packet:
    src_mac, dst_mac = (
        (PHONE_MAC, GATEWAY_MAC) if packet.src == PHONE_IP else (GATEWAY_MAC, PHONE_MAC)
    )
    frame = Ether(src=src_mac, dst=dst_mac)
    return frame / Dot1Q(vlan=vlan) / packet if vlan is not None else frame / packet


def tcp_dns_answer_late(port: int) -> tuple[list[Packet], list[Packet]]:
    """A DNS lookup over TCP whose answer's first segment arrives after its second:
    (the packets before the late segment, the late segment and the rest)."""
    session = TcpSession(PHONE_IP, port, RESOLVER_IP, 53).handshake()
    query = bytes(DNS(id=9, rd=1, qd=[DNSQR(qname="b.vendor.example")]))
    session.send(struct.pack("!H", len(query)) + query)
    answer = DNS(
        id=9, qr=1, rd=1, ra=1, qd=[DNSQR(qname="b.vendor.example")],
        an=[DNSRR(rrname="b.vendor.example", type="A", rdata=FOTA_IP, ttl=60)],
    )  # fmt: skip
    message = struct.pack("!H", len(bytes(answer))) + bytes(answer)
    session.mss = 20
    first, second, *rest = session.send(message, from_client=False, ack=False)
    before = session.packets[: session.packets.index(first)]
    return [*before, second, *rest], [first, *session.close().packets[-3:]]


def mixed_packets() -> list[Packet]:
    a_port = port_in_shard(0, PHONE_IP, RESOLVER_IP, 53, 41000)
    b_port = port_in_shard(1, PHONE_IP, RESOLVER_IP, 53, 42000)
    before_late, late = tcp_dns_answer_late(b_port)
    packets: list[Packet] = [*leaky_boot(), *before_late]
    # Another shard's UDP answer for the same address, read between the TCP answer's
    # segments: one process reads it first, though its time is later.
    packets += dns_lookup(PHONE_IP, RESOLVER_IP, "a.vendor.example", FOTA_IP, sport=a_port)
    packets += late
    packets += clean_boot()
    for number in range(12):  # lookups the shards split
        sport = 50000 + number * 7
        packets += dns_lookup(
            PHONE2_IP, RESOLVER_IP, f"n{number}.vendor.example", FOTA_IP, sport=sport
        )
    packets.append(dns_query(PHONE_IP, RESOLVER_IP, f"{IMEI}.vnet.cn", sport=45000))
    # IP fragments of a leaky datagram, out of order; one never completed.
    body = b"x" * 40 + b"imei=" + IMEI.encode() + b"&" + b"y" * 60
    datagram = IP(src=PHONE_IP, dst=CN_IP, id=77) / UDP(sport=40000, dport=9999) / Raw(body)
    packets += [ether(p) for p in reversed(fragment(datagram, fragsize=24))]
    packets.append(ether(fragment(IP(src=PHONE_IP, dst=CN_IP, id=78) / UDP() / Raw(body), 24)[0]))
    # A flow read partly through VLAN tags and IP options (the parsed path).
    session = TcpSession(PHONE_IP, 40100, CN_IP, 80).handshake()
    session.send(http_post("zfhmd.vnet.cn", "/x", f"sn={IMEI}".encode()))
    session.close()
    for number, packet in enumerate(session.packets):
        inner = packet[IP]
        if number % 3 == 1:
            inner.options = [IPOption_NOP()] * 4
            del inner.ihl, inner.len, inner.chksum
        packets.append(ether(inner, vlan=5) if number % 3 == 2 else ether(inner))
    # A gap, and a retransmission that says something else.
    gappy = TcpSession(PHONE_IP, 40200, CN_IP, 8080).handshake()
    lost = gappy.send(b"A" * 300)[0]
    gappy.packets.remove(lost)
    gappy.send(b"B" * 100)
    copy = gappy.send(f"imei={IMEI}".encode())[0]
    changed = copy.copy()
    changed[Raw].load = b"imei=000000000000000"
    gappy.packets.append(changed)
    packets += gappy.close().packets
    packets += TcpSession("fd00::2:1", 40300, "2001:db8::86:10", 80).handshake().packets
    packets += http_exchange(
        PHONE_IP, 40400, FOTA_IP, http_post("fota.vendor.example", "/", b"{}")
    ).packets
    packets.append(
        Ether(src=PHONE_MAC, dst=GATEWAY_MAC) / IPv6(src="fd00::2:1", dst="fd00::1") / ICMP()
    )
    packets.append(ether(IP(src=PHONE_IP, dst=CN_IP) / ICMP() / Raw(IMEI.encode())))
    packets.append(Ether(src=PHONE_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=PHONE_IP))
    packets.append(Ether(src=PHONE_MAC, dst=GATEWAY_MAC, type=0x0800) / Raw(b"\x45\x00\x00"))
    packets += [
        Ether(src=PHONE_MAC, dst=GATEWAY_MAC, type=0x0800) / Raw(s) for s in short_headers()
    ]
    packets.append(dns_answer(PHONE_IP, RESOLVER_IP, "late.vendor.example", CN_IP, sport=a_port))
    return packets


def short_headers() -> list[bytes]:
    """IPv4 packets that look common but are not whole: a total length shorter than
    the IP header (unreadable), and a UDP packet too short for its own header."""
    addresses = bytes(IP(src=PHONE_IP, dst=CN_IP))[12:20]
    ports = struct.pack("!HH", port_in_shard(1, PHONE_IP, CN_IP, 80, 43000), 80)
    tcp = b"\x45\x00\x00\x0a\x00\x01\x00\x00\x40\x06\x00\x00" + addresses + ports
    udp = b"\x45\x00\x00\x18\x00\x02\x00\x00\x40\x11\x00\x00" + addresses + ports
    return [tcp + bytes(20), udp]
