"""The interceptor where the virtual rack's gateway is: a boot cycle of a phone running the
TLS-analytics build, its traffic intercepted, cut beside its pcap, and the pcap decrypted."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from benches.capture.gateway import Gateway
from benches.cycles import CycleRecord, CycleWindow, run_boot_cycle, run_unlock_cycle
from benches.inventory import load_manifest, load_rack
from benches.pytestplugin.bench import open_bench
from benches.pytestplugin.interception import interception_session, refresh_trust
from benches.rack.session import BenchSession
from tests.support.rackfiles import REPO, relocated_rack
from tests.support.tools import require_tool

pytestmark = pytest.mark.live

TLS_ANALYTICS = REPO / "firmware" / "ta1046-global-TLS-analytics.yaml"
ANALYTICS = "analytics.partner.example"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    workdir = tmp_path_factory.mktemp("gateway")
    rack = load_rack(relocated_rack(workdir, 157, 5457))
    bench = open_bench(rack, load_manifest(TLS_ANALYTICS), workdir / "virtual-rack")
    try:
        yield bench
    finally:
        bench.close()


@pytest.fixture(scope="module")
def rack_gateway(session: BenchSession, tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    reports = session_reports(session)
    return Gateway(
        "lo",
        tmp_path_factory.mktemp("pcaps"),
        interception_session(session.rack, session.manifest, reports),
    )


@pytest.fixture(scope="module")
def boot(session: BenchSession, rack_gateway: Gateway) -> CycleRecord:
    device = session.rack.devices[0]
    phone = session.phones[device.serial]
    return run_boot_cycle(
        phone, rack_gateway, session.rack.bench.timings, 1, session.power_of(device.serial)
    )


def session_reports(session: BenchSession) -> Path:
    # open_bench was given <reports>/virtual-rack; the interceptor's spool is beside it.
    virtual = session.virtual
    assert virtual is not None
    return Path(virtual.workdir).parent  # type: ignore[attr-defined]


def messages(record: CycleRecord) -> list[dict]:
    assert record.interception is not None
    text = record.interception.messages.read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_the_cycle_leaves_its_four_interception_files(boot: CycleRecord) -> None:
    files = boot.interception
    assert files is not None
    for path in (files.flows, files.keylog, files.messages, files.meta):
        assert path.stat().st_mode & 0o777 == 0o600, path
    meta = json.loads(files.meta.read_text())
    assert meta["complete"] is True and meta["ports"] == [443]
    assert meta["phone"] == "127.157.2.1"
    assert files.keylog.read_text().strip()


def test_the_imei_goes_to_the_analytics_host_in_gzipd_json_over_http2(
    boot: CycleRecord, session: BenchSession
) -> None:
    imei = session.rack.devices[0].identity.imei[0]
    posts = [m for m in messages(boot) if m["kind"] == "request" and m["host"] == ANALYTICS]
    assert posts, [m["host"] for m in messages(boot) if m["kind"] == "request"]
    post = posts[0]
    assert post["http_version"] == "HTTP/2.0" and post["sni"] == ANALYTICS
    assert post["client"].startswith("127.157.2.1:")
    assert post["server"] == "127.157.46.10:443"  # the phone's original destination
    assert ["content-encoding", "gzip"] in post["headers"]
    body = base64.b64decode(post["content"])
    assert imei.encode() not in body  # still content-encoded
    assert imei in gzip.decompress(body).decode()


def test_the_pinned_client_refuses_the_interceptor(boot: CycleRecord) -> None:
    failed = [m for m in messages(boot) if m["kind"] == "tls_failed"]
    assert [m["sni"] for m in failed] == [ANALYTICS]
    # Nothing of its request reached the interceptor.
    paths = [m["path"] for m in messages(boot) if m["kind"] == "request"]
    assert "/v2/config" not in paths


def test_tshark_decrypts_the_pcap_with_the_cut_key_log(boot: CycleRecord) -> None:
    assert boot.interception is not None
    shown = subprocess.run(
        [
            require_tool("tshark", "tshark"),
            "-r",
            str(boot.pcap),
            "-o",
            f"tls.keylog_file:{boot.interception.keylog}",
            "-Y",
            "http2.header.value",
            "-T",
            "fields",
            "-e",
            "ip.dst",
            "-e",
            "tcp.dstport",
            "-e",
            "tls.handshake.extensions_server_name",
            "-e",
            "http2.headers.path",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("\t") for line in shown.stdout.splitlines()]
    assert ["127.157.46.10", "443"] in [row[:2] for row in rows], shown.stdout
    assert any("/v2/events" in row[-1] for row in rows), shown.stdout


def test_an_android_15_phone_trusts_the_ca_until_it_reboots(
    session: BenchSession, rack_gateway: Gateway
) -> None:
    # The rack's second phone runs Android 15: its CAs are in the conscrypt APEX, where
    # the CA is bind-mounted (HTTP Toolkit's method) and lost at every reboot.
    device = session.rack.devices[1]
    address = device.network.addresses[0]
    shared = rack_gateway.interception
    assert shared is not None and shared.refusal(address) is None
    assert shared.phones()[address].trusted
    phone = session.phones[device.serial]
    timings = session.rack.bench.timings
    boot = run_boot_cycle(phone, rack_gateway, timings, 1, session.power_of(device.serial))
    # Its apps' TLS at boot comes before the bench can mount the CA again.
    assert "tls_failed" in {m["kind"] for m in messages(boot)}
    assert not [m for m in messages(boot) if m["kind"] == "request"]
    refresh_trust(phone, session.rack, session.manifest, session_reports(session), shared)
    unlock = run_unlock_cycle(phone, rack_gateway, timings, 1)
    posts = [m for m in messages(unlock) if m["kind"] == "request" and m["host"] == ANALYTICS]
    assert posts and posts[0]["client"].startswith(f"{address}:")


def test_the_ca_went_into_the_system_store_over_adb(session: BenchSession) -> None:
    # The third phone runs Android 11: its store is /system/etc/security/cacerts.
    device = session.rack.devices[2]
    virtual = session.virtual
    store = virtual.phones[device.serial].files / "system/etc/security/cacerts"  # type: ignore[attr-defined]
    names = sorted(path.name for path in store.iterdir())
    assert len(names) == 2 and any(name.endswith(".0") for name in names), names


def test_a_phones_quic_is_dropped_and_counted_in_its_window(
    session: BenchSession, rack_gateway: Gateway
) -> None:
    device = session.rack.devices[0]
    phone = session.phones[device.serial]
    address = device.network.addresses[0]
    with CycleWindow(phone, rack_gateway, "idle", 7) as window:
        # What a QUIC client on the phone sends first: a datagram to an endpoint's :443.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quic:
            quic.bind((address, 0))
            with contextlib.suppress(PermissionError):  # nft's drop says EPERM
                quic.sendto(b"\xc0" + bytes(1199), ("127.157.46.10", 443))
        window.settle(0.2)
    assert window.record.interception is not None
    meta = json.loads(window.record.interception.meta.read_text())
    assert meta["quic_blocked"] == 1
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert "bench_interception_virtual_bench_helsinki_127_157" in listed
