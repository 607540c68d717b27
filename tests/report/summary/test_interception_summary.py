"""An intercepted cycle in the sign-off: its TLS counts in the matrix, its interceptor's
files in the evidence pack (flow file and key log copied owner-only), a masked view of what
it decrypted for people (Allure's attachment)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scapy.utils import wrpcap

from benches.analysis.attribution.geo import GeoDatabase
from benches.capture.interception.files import InterceptionFiles
from benches.cycles import CycleRecord, Event
from benches.inventory.models import Manifest, Policy
from benches.inventory.virtual import Endpoint
from benches.policy.judge import judge_cycle
from benches.redaction.rack_masker import forget_rack, scrub_text, use_rack
from benches.report.allure.attachments import intercepted_lines
from benches.report.cycle_entry import device_ref
from benches.report.summary.plan import Planned, write_plan
from benches.report.summary.writer import summary_dir, write_summary
from benches.report.verdict_log import append_verdict, verdict_log_path, write_expected_count
from tests.support.intercepted import gzip_json_post, meta, tls_failed, write_intercepted
from tests.support.pcaps import (
    IMEI,
    PHONE_IP,
    RESOLVER_IP,
    START,
    TcpSession,
    client_hello,
    dns_lookup,
    make_rack,
    stamp,
    tls_exchange,
)

IE_IP, PINNED_IP = "127.0.35.10", "127.0.35.20"
RACK = make_rack(
    (
        Endpoint("analytics.partner.example", IE_IP, "IE", "Partner Analytics Ltd"),
        Endpoint("pinned.partner.example", PINNED_IP, "IE", "Partner Analytics Ltd"),
    )
)
GEO = GeoDatabase.for_rack(RACK)
BUILD = "TLS1"
POLICY = Policy(frozenset({"IE", "FI"}))
MANIFEST = Manifest(Path("m.yaml"), BUILD, "Nokia/fp:10/TLS1", "global", POLICY)


def intercepted_cycle(reports: Path) -> CycleRecord:
    pcap = reports / "pcaps" / BUILD / "SIM7P0001-boot-1.pcap"
    pcap.parent.mkdir(parents=True)
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "analytics.partner.example", IE_IP)
    packets += tls_exchange(PHONE_IP, 40010, IE_IP, "analytics.partner.example").packets
    session = TcpSession(PHONE_IP, 40011, PINNED_IP, 443).handshake()
    session.send(client_hello("pinned.partner.example"))
    packets += session.close().packets
    wrpcap(str(pcap), stamp(packets, start=START))
    client, server = f"{PHONE_IP}:40010", f"{IE_IP}:443"
    lines = [
        gzip_json_post(client, server, {"imei": IMEI}),
        tls_failed(f"{PHONE_IP}:40011", f"{PINNED_IP}:443", "pinned.partner.example", "pinning"),
    ]
    write_intercepted(pcap, lines, meta(PHONE_IP))
    files = InterceptionFiles.beside(pcap)
    files.flows.write_bytes(b"mitmproxy flows holding " + IMEI.encode())
    files.keylog.write_text("CLIENT_RANDOM 00 11\n")
    record = CycleRecord("SIM7P0001", "boot", 1, pcap, interception=files)
    record.timeline = [Event("capture_started", 0.0, START)]
    return record


def run(tmp_path: Path) -> tuple[Path, CycleRecord]:
    reports = tmp_path / "reports"
    write_plan(reports, BUILD, [Planned(device_ref("SIM7P0001"), "boot", 1)])
    write_expected_count(reports, BUILD, 1)
    record = intercepted_cycle(reports)
    result = judge_cycle(record, RACK, MANIFEST, GEO)
    append_verdict(verdict_log_path(reports, BUILD), result)
    write_summary(reports, RACK, MANIFEST)
    return reports, record


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def test_the_matrix_counts_the_cycles_tls_flows(tmp_path: Path) -> None:
    reports, _ = run(tmp_path)
    folder = summary_dir(reports, BUILD)
    data = _json(folder / "summary.json")

    (finding,) = data["findings"]
    assert "inside TLS" in finding["message"] and finding["encoding"] == "tls+h2+gzip+plain"
    cell = data["matrix"]["rows"][0]["cells"][0]
    assert cell["tls"] == {"opened": 1, "opaque": 1, "not tried": 0, "quic blocked": 0}
    assert "TLS: 1 opened, 1 opaque, 0 not tried" in (folder / "index.html").read_text()


def test_the_pack_carries_the_flow_file_and_key_log_owner_only(tmp_path: Path) -> None:
    reports, record = run(tmp_path)
    evidence = summary_dir(reports, BUILD) / "evidence"
    info = _json(evidence / "interception.json")

    (cycle,) = info["cycles"]
    assert cycle["tls"]["opaque"] == 1
    assert cycle["copies"] == {
        "flows": "interception/SIM7P0001-boot-1.flows",
        "keylog": "interception/SIM7P0001-boot-1.keylog",
    }
    assert record.interception is not None
    for name, source in (
        ("flows", record.interception.flows),
        ("keylog", record.interception.keylog),
    ):
        copy = evidence / cycle["copies"][name]
        assert copy.read_bytes() == source.read_bytes()
        assert copy.stat().st_mode & 0o077 == 0
    # only the raw copies hold the identifier; every file people read is masked
    for path in summary_dir(reports, BUILD).rglob("*"):
        if path.is_file() and path.parent.name != "interception":
            assert IMEI not in path.read_text(errors="replace"), path


def test_the_masked_view_lists_what_was_decrypted(tmp_path: Path) -> None:
    record = intercepted_cycle(tmp_path)
    assert record.interception is not None
    use_rack(RACK)
    try:
        text = scrub_text("\n".join(intercepted_lines(record.interception.messages)))
    finally:
        forget_rack()

    first, second = text.splitlines()
    assert first.startswith("request POST analytics.partner.example/v1/events (HTTP/2.0, ")
    assert second == "TLS refused pinned.partner.example: pinning"
    assert IMEI not in text
