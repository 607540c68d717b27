"""Real parts end to end: mitmdump 11.0.2 intercepts a real TLS client's HTTP/2 POST of
gzip'd JSON holding the IMEI, the bench's own capture records it on loopback, and
``bench analyze --intercepted`` finds the IMEI inside TLS; a pinning client's flow is
opaque; tshark decrypts the capture with the key log mitmdump wrote.

mitmdump runs in its own venv: BENCH_MITMDUMP, else the bench's .venv-mitmproxy (tlsgw's
``./run`` makes it), else /tmp/mvenv. The addon that writes the JSONL is the TEST one in
tests/support/mitm/ (the bench's own, tlsgw's, replaces it once merged); mitmdump runs in
reverse mode and answers every request itself, so no upstream server and no redirect
rule is needed: the capture's destination is mitmdump's own address.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR

from benches.capture.process import Capture
from tests.support.analyzecli import bench
from tests.support.paths import REPO

pytestmark = pytest.mark.live

PHONE = "127.215.0.2"
PROXY = "127.215.0.10"  # mitmdump's address: analytics and pinned hosts both resolve to it
RESOLVER = "127.215.0.53"
MITM_PORT = 18443
IMEI = "352098100123452"
ANALYTICS, PINNED = "analytics.partner.example", "pinned.partner.example"
SUPPORT = REPO / "tests" / "support" / "mitm"

DEVICES = f"""\
bench:
  name: test-bench
  location: {{lat: 60.1699, lon: 24.9384, radius_km: 50}}
virtual:
  resolver: {RESOLVER}
  endpoints:
    - {{host: {ANALYTICS}, address: {PROXY}, country: IE, owner: Partner Analytics Ltd}}
devices:
  - serial: SIM7P0001
    model: TA-1046
    network: {{ipv4: {PHONE}, mac: "02:00:00:00:02:01"}}
    identity:
      imei: ["{IMEI}"]
      iccid: "89358051000000000111"
      imsi: "244051000000001"
      serial: SIM7P0001
      wifi_mac: "02:00:00:00:02:01"
"""


def firmware(extra: str = "") -> str:
    return (
        "build: 00WW_TLS\nfingerprint: Nokia/Onyx_00WW/B2N_sprout:10/QKQ1/00WW_TLS:user/keys\n"
        "region: global\npolicy:\n  allowed_countries: [EEA, US]\n" + extra
    )


def mitmdump() -> str:
    for candidate in (
        os.environ.get("BENCH_MITMDUMP"),
        str(REPO / ".venv-mitmproxy" / "bin" / "mitmdump"),
        "/tmp/mvenv/bin/mitmdump",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("no mitmdump: set BENCH_MITMDUMP, or ./run makes .venv-mitmproxy")


def _listening(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=0.2).close()
    except OSError:
        return False
    return True


def _dns(queries: list[str]) -> None:
    """The phone looks the names up; the resolver answers with mitmdump's address."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as phone,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as resolver,
    ):
        resolver.bind((RESOLVER, 53))
        phone.bind((PHONE, 0))
        for number, name in enumerate(queries, start=1):
            question = DNS(id=number, rd=1, qd=[DNSQR(qname=name)])
            phone.sendto(bytes(question), (RESOLVER, 53))
            _, client = resolver.recvfrom(512)
            answer = DNS(id=number, qr=1, rd=1, ra=1, qd=[DNSQR(qname=name)],
                         an=[DNSRR(rrname=name, type="A", rdata=PROXY, ttl=60)])  # fmt: skip
            resolver.sendto(bytes(answer), client)
            phone.recv(512)


@pytest.fixture(scope="module")
def intercepted_cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One intercepted cycle: X.pcap, X.intercepted.jsonl, X.interception.json, X.keylog,
    X.flows; the analytics client leaked its IMEI, the pinned client refused."""
    folder = tmp_path_factory.mktemp("intercepted")
    pcap = folder / "boot-1.pcap"
    stem = folder / "boot-1"
    env = {
        **os.environ,
        "BENCH_TEST_JSONL": f"{stem}.intercepted.jsonl",
        "BENCH_TEST_ANSWER": "1",
        "MITMPROXY_SSLKEYLOGFILE": f"{stem}.keylog",  # mitmproxy 11.0.2 reads it at import
    }
    upstream = "https://127.215.0.99:9"  # never reached: the addon answers
    process = subprocess.Popen(
        [mitmdump(), "-q", "--set", f"confdir={folder / 'conf'}",
         "--mode", f"reverse:{upstream}@{PROXY}:{MITM_PORT}",
         "--set", "connection_strategy=lazy", "--set", "keep_host_header=true",
         "-s", str(SUPPORT / "jsonl_addon.py"), "-w", f"{stem}.flows"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _listening(PROXY, MITM_PORT):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "mitmdump did not listen within 30 s"
            time.sleep(0.1)
        capture = Capture("lo", [PHONE], pcap)
        capture.start()
        start = time.time()
        _dns([ANALYTICS, PINNED])
        python = str(Path(mitmdump()).with_name("python"))
        ca = folder / "conf" / "mitmproxy-ca-cert.pem"
        target = f"{PROXY}:{MITM_PORT}"
        client = SUPPORT / "h2_client.py"
        leaked = subprocess.run([python, client, PHONE, target, ANALYTICS, IMEI, "--cafile", ca],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        pinned = subprocess.run([python, client, PHONE, target, PINNED, IMEI, "--pinned"],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        assert (leaked.returncode, pinned.returncode) == (0, 3), (leaked.stderr, pinned.stderr)
        time.sleep(0.5)  # the last FINs reach the capture
        capture.stop()
    finally:
        os.kill(process.pid, signal.SIGINT)  # mitmdump flushes its flow file on the way out
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    meta = {"interceptor": "mitmproxy 11.0.2", "mode": "reverse", "ports": [MITM_PORT],
            "phone": PHONE, "window": [start, time.time()], "complete": True,
            "reason": None}  # fmt: skip
    Path(f"{stem}.interception.json").write_text(json.dumps(meta))
    yield pcap


def analyze(pcap: Path, extra: str = "") -> tuple[int, dict]:
    folder = pcap.parent
    devices, manifest = folder / "devices.yaml", folder / f"fw{abs(hash(extra))}.yaml"
    devices.write_text(DEVICES)
    manifest.write_text(firmware(extra))
    jsonl = pcap.with_name("boot-1.intercepted.jsonl")
    done = bench("analyze", pcap, "--devices", devices, "--firmware", manifest,
                 "--intercepted", jsonl, "--json", "--jobs", "1")  # fmt: skip
    assert done.returncode in (0, 1, 2), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_the_imei_posted_over_h2_is_found_inside_tls(intercepted_cycle: Path) -> None:
    code, result = analyze(intercepted_cycle)

    assert code == 1
    (finding,) = result["findings"]
    message = finding["message"]
    assert message.startswith("IMEI 3520…452 sent inside TLS to analytics.partner.example")
    assert "(imei-15, tls+h2+gzip+plain)" in message and IMEI not in json.dumps(result)
    states = {f["sni"]: f["interception"] for f in result["flows"] if f["protocol"] == "tls"}
    assert states == {ANALYTICS: "opened", PINNED: "opaque"}
    assert result["interception"]["phones"] == {
        "SI…1": {"opened": 1, "opaque": 1, "not tried": 0, "quic blocked": 0}
    }


def test_the_pinned_flow_is_opaque_unless_its_host_is_listed(intercepted_cycle: Path) -> None:
    recipients = f"  identifier_recipients: [{ANALYTICS}]\n"
    code, result = analyze(intercepted_cycle, recipients)
    assert code == 2
    assert any(
        "TLS on port 18443 not opened" in r and "does not trust the proxy's certificate" in r
        for r in result["reasons"]
    ), result["reasons"]

    code, result = analyze(intercepted_cycle, recipients + f"  opaque_hosts: [{PINNED}]\n")
    assert (code, result["reasons"]) == (0, [])


def test_the_evidence_files_are_there_and_tshark_decrypts_the_h2_request(
    intercepted_cycle: Path,
) -> None:
    keylog, flows = (
        intercepted_cycle.with_name("boot-1.keylog"),
        intercepted_cycle.with_name("boot-1.flows"),
    )
    lines = keylog.read_text().split()  # mitmproxy begins the file with an empty line
    assert "CLIENT_TRAFFIC_SECRET_0" in lines or "CLIENT_RANDOM" in lines
    assert flows.stat().st_size > 0
    tshark = shutil.which("tshark")
    assert tshark is not None, "tshark is needed (apt install tshark)"
    shown = subprocess.run(
        [tshark, "-n", "-r", intercepted_cycle, "-o", f"tls.keylog_file:{keylog}",
         "-d", f"tcp.port=={MITM_PORT},tls", "-Y", "http2.type == 1",
         "-T", "fields", "-e", "http2.headers.method", "-e", "http2.headers.authority",
         "-e", "http2.headers.path"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert f"POST\t{ANALYTICS}\t/v1/events" in shown.stdout.splitlines()
