"""Craft capture FILES for the analyzer's tests: nothing here sends a packet.

Packets are built with scapy and written with wrpcap/wrpcapng. Every Ether
layer names both MAC addresses, so scapy never tries to resolve one.
Also here: the rack and policy models the tests judge those captures with.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap, wrpcapng

from benches.inventory.models import Bench, Device, Identity, Location, Network, Policy, Rack
from benches.inventory.virtual import Endpoint, VirtualRackConfig

PHONE_MAC = "02:00:00:00:02:01"
PHONE2_MAC = "02:00:00:00:02:02"
GATEWAY_MAC = "02:00:00:00:00:fe"
PHONE_IP = "127.0.2.1"
PHONE2_IP = "127.0.2.2"
RESOLVER_IP = "127.0.53.53"
CN_IP = "127.0.86.10"  # zfhmd.vnet.cn in the overlay: CN, Chinanet
FOTA_IP = "127.0.44.10"  # fota.vendor.example in the overlay: FI
START = 1_700_000_000.0

IMEI = "352098100123452"
IMEI_2 = "352098100123460"
ICCID = "89358051000000000111"
IMSI = "244051000000001"
SERIAL = "SIM7P0001"
WIFI_MAC = "02:00:00:00:02:01"
OTHER_IMEI = "352098100123478"  # SIM7P0002's

HELSINKI = Location(lat=60.1699, lon=24.9384, radius_km=50.0)


# --- models -----------------------------------------------------------------


def make_rack(endpoints: Sequence[Endpoint] | None = None) -> Rack:
    """The default virtual rack's first two phones, as devices.yaml describes them."""
    if endpoints is None:
        endpoints = (
            Endpoint("zfhmd.vnet.cn", CN_IP, "CN", "Chinanet"),
            Endpoint("fota.vendor.example", FOTA_IP, "FI", "Vendor Cloud Oy"),
        )
    return Rack(
        path=Path("devices.yaml"),
        bench=Bench(name="test-bench", location=HELSINKI),
        devices=(
            Device(
                serial=SERIAL,
                model="TA-1046",
                network=Network(ipv4=PHONE_IP, mac=PHONE_MAC),
                identity=Identity(
                    imei=(IMEI, IMEI_2),
                    iccid=ICCID,
                    imsi=IMSI,
                    serial=SERIAL,
                    wifi_mac=WIFI_MAC,
                ),
            ),
            Device(
                serial="SIM7P0002",
                model="TA-1046",
                network=Network(ipv4=PHONE2_IP, mac=PHONE2_MAC),
                identity=Identity(
                    imei=(OTHER_IMEI,),
                    iccid="89358051000000000210",
                    imsi="244051000000002",
                    serial="SIM7P0002",
                    wifi_mac="02:00:00:00:02:02",
                ),
            ),
        ),
        virtual=VirtualRackConfig(resolver=RESOLVER_IP, endpoints=tuple(endpoints)),
    )


def make_policy(
    countries: Iterable[str] = ("FI", "SE", "DE", "US"),
    hosts: Sequence[str] = ("vendor.example",),
    recipients: Sequence[str] = ("fota.vendor.example",),
) -> Policy:
    return Policy(
        allowed_countries=frozenset(countries),
        allowed_hosts=tuple(hosts),
        identifier_recipients=tuple(recipients),
    )


# --- payloads --------------------------------------------------------------


def leaky_post_body() -> bytes:
    return (
        b'{"imei":"'
        + IMEI.encode()
        + b'","iccid":"'
        + ICCID.encode()
        + b'","sn":"'
        + SERIAL.encode()
        + b'","lat":60.1699,"lon":24.9384}'
    )


def http_post(host: str, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def http_response(body: bytes = b'{"ok":true}') -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body


def client_hello(sni: str | None, *, record_split: int | None = None) -> bytes:
    """A TLS 1.2-style ClientHello, built byte by byte (RFC 8446 section 4.1.2).

    ``record_split`` puts the handshake across two records at that offset.
    """
    extensions = b""
    if sni is not None:
        name = sni.encode("ascii")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        server_name_list = struct.pack("!H", len(entry)) + entry
        extensions += struct.pack("!HH", 0, len(server_name_list)) + server_name_list
    # supported_groups, to put something other than SNI in the list
    groups = struct.pack("!H", 4) + b"\x00\x1d\x00\x17"
    extensions = struct.pack("!HH", 10, len(groups)) + groups + extensions
    body = (
        b"\x03\x03"
        + bytes(range(32))  # random
        + b"\x20"
        + bytes(32)  # session id
        + struct.pack("!H", 4)
        + b"\x13\x01\xc0\x2f"  # cipher suites
        + b"\x01\x00"  # compression: null
        + struct.pack("!H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    if record_split is None:
        return _record(22, handshake)
    return _record(22, handshake[:record_split]) + _record(22, handshake[record_split:])


def _record(content_type: int, fragment: bytes) -> bytes:
    return struct.pack("!BBBH", content_type, 3, 1, len(fragment)) + fragment


def tls_application_data(size: int = 200) -> bytes:
    """Bytes that look like ciphertext (deterministic)."""
    blob = bytes((i * 151 + 17) % 251 for i in range(size))
    return _record(23, blob)


# --- packets ---------------------------------------------------------------


# Each phone's frames carry its MAC; every other address is behind the gateway.
MACS = {PHONE_IP: PHONE_MAC, PHONE2_IP: PHONE2_MAC}


def _ether(
    src_ip: str, dst_ip: str, src_mac: str | None = None, dst_mac: str | None = None
) -> Ether:
    return Ether(
        src=src_mac or MACS.get(src_ip, GATEWAY_MAC), dst=dst_mac or MACS.get(dst_ip, GATEWAY_MAC)
    )


def ip_layer(src: str, dst: str) -> Packet:
    if ":" in src:
        return IPv6(src=src, dst=dst)
    return IP(src=src, dst=dst)


def udp_packet(
    src: str, sport: int, dst: str, dport: int, payload: bytes,
    *, src_mac: str | None = None, dst_mac: str | None = None,
) -> Packet:  # fmt: skip
    ether = _ether(src, dst, src_mac, dst_mac)
    return ether / ip_layer(src, dst) / UDP(sport=sport, dport=dport) / Raw(payload)


def dns_query(
    client: str, resolver: str, name: str, *, sport: int = 33333, qid: int = 7,
    mac: str | None = None,
) -> Packet:  # fmt: skip
    """``mac``: the client's, when it is not the one :data:`MACS` gives its address."""
    query = DNS(id=qid, rd=1, qd=[DNSQR(qname=name)])
    return udp_packet(client, sport, resolver, 53, bytes(query), src_mac=mac)


def dns_answer(
    client: str,
    resolver: str,
    name: str,
    address: str,
    *,
    cname: str | None = None,
    sport: int = 33333,
    qid: int = 7,
    mac: str | None = None,
) -> Packet:
    records = []
    owner = name
    if cname:
        records.append(DNSRR(rrname=name, type="CNAME", rdata=cname, ttl=60))
        owner = cname
    kind = "AAAA" if ":" in address else "A"
    records.append(DNSRR(rrname=owner, type=kind, rdata=address, ttl=60))
    answer = DNS(id=qid, qr=1, rd=1, ra=1, qd=[DNSQR(qname=name)], an=records)
    return udp_packet(resolver, 53, client, sport, bytes(answer), dst_mac=mac)


def dns_lookup(
    client: str,
    resolver: str,
    name: str,
    address: str,
    *,
    cname: str | None = None,
    sport: int = 33333,
    qid: int = 7,
    mac: str | None = None,
) -> list[Packet]:
    return [
        dns_query(client, resolver, name, sport=sport, qid=qid, mac=mac),
        dns_answer(client, resolver, name, address, cname=cname, sport=sport, qid=qid, mac=mac),
    ]


@dataclass
class TcpSession:
    """A TCP conversation, packet by packet, with real sequence numbers."""

    client: str
    cport: int
    server: str
    sport: int
    client_isn: int = 1000
    server_isn: int = 5000
    mss: int = 1400
    packets: list[Packet] = field(default_factory=list)
    client_mac: str | None = None  # when not the one MACS gives the client's address

    def __post_init__(self) -> None:
        self.cseq = self.client_isn
        self.sseq = self.server_isn

    def _segment(
        self, from_client: bool, flags: str, payload: bytes = b"", seq: int | None = None
    ) -> Packet:
        if from_client:
            src, dst, sport, dport = self.client, self.server, self.cport, self.sport
            own, ack = self.cseq, self.sseq
            ether = _ether(src, dst, src_mac=self.client_mac)
        else:
            src, dst, sport, dport = self.server, self.client, self.sport, self.cport
            own, ack = self.sseq, self.cseq
            ether = _ether(src, dst, dst_mac=self.client_mac)
        tcp = TCP(sport=sport, dport=dport, flags=flags, seq=own if seq is None else seq, ack=ack)
        if "A" not in flags:
            tcp.ack = 0
        packet = ether / ip_layer(src, dst) / tcp
        if payload:
            packet = packet / Raw(payload)
        self.packets.append(packet)
        return packet

    def handshake(self) -> TcpSession:
        self._segment(True, "S")
        self.cseq += 1
        self._segment(False, "SA")
        self.sseq += 1
        self._segment(True, "A")
        return self

    def send(self, data: bytes, *, from_client: bool = True, ack: bool = True) -> list[Packet]:
        """Send ``data`` in MSS-sized segments (and the peer's ACK); return the segments."""
        segments = []
        for start in range(0, len(data), self.mss):
            chunk = data[start : start + self.mss]
            segments.append(self._segment(from_client, "PA", chunk))
            if from_client:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)
        if ack:
            self._segment(not from_client, "A")
        return segments

    def close(self) -> TcpSession:
        self._segment(True, "FA")
        self.cseq += 1
        self._segment(False, "FA")
        self.sseq += 1
        self._segment(True, "A")
        return self


def http_exchange(
    client: str, cport: int, server: str, request: bytes, *, sport: int = 80
) -> TcpSession:
    session = TcpSession(client, cport, server, sport).handshake()
    session.send(request)
    session.send(http_response(), from_client=False)
    return session.close()


def tls_exchange(
    client: str, cport: int, server: str, sni: str | None, *, sport: int = 443
) -> TcpSession:
    session = TcpSession(client, cport, server, sport).handshake()
    session.send(client_hello(sni))
    session.send(tls_application_data(300), from_client=False)
    session.send(tls_application_data(500))
    return session.close()


def leaky_boot(client: str = PHONE_IP) -> list[Packet]:
    """The 2019 incident: look up zfhmd.vnet.cn, POST identifiers and location over HTTP."""
    packets = dns_lookup(client, RESOLVER_IP, "zfhmd.vnet.cn", CN_IP)
    request = http_post("zfhmd.vnet.cn", "/activation", leaky_post_body())
    packets += http_exchange(client, 40001, CN_IP, request).packets
    return packets


def clean_boot(client: str = PHONE_IP) -> list[Packet]:
    """The fixed build: vendor update check over TLS only."""
    packets = dns_lookup(client, RESOLVER_IP, "fota.vendor.example", FOTA_IP)
    packets += tls_exchange(client, 40002, FOTA_IP, "fota.vendor.example").packets
    return packets


# --- files -----------------------------------------------------------------


def stamp(packets: Sequence[Packet], start: float = START, step: float = 0.01) -> list[Packet]:
    for index, packet in enumerate(packets):
        packet.time = start + index * step
    return list(packets)


def write_pcap(path: Path, packets: Sequence[Packet]) -> Path:
    wrpcap(str(path), stamp(packets))
    return path


def write_pcapng(path: Path, packets: Sequence[Packet]) -> Path:
    wrpcapng(str(path), stamp(packets))
    return path


def append_raw_record(
    path: Path, data: bytes, *, caplen: int | None = None, wirelen: int | None = None
) -> None:
    """Append one record of arbitrary bytes to a little-endian classic pcap.

    ``caplen`` larger than the data makes the file end inside the record;
    ``wirelen`` larger than the data says the capture cut the frame short.
    """
    length = len(data) if caplen is None else caplen
    on_wire = max(length, len(data)) if wirelen is None else wirelen
    header = struct.pack("<IIII", int(START) + 100, 0, length, on_wire)
    with path.open("ab") as f:
        f.write(header + data)
