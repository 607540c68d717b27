"""Real parts end to end: the bench's own interceptor (mitmdump 11.0.2 with the bench's
addon, `Interceptor`) in reverse mode in front of a virtual-rack endpoint (`EndpointServers`,
its certificate from a `RackAuthority`) intercepts a real TLS client's HTTP/2 POST of gzip'd
JSON holding the IMEI; the bench's own capture records it on loopback, the bench's per-cycle
cut (`InterceptionSession.cut`, cut.py) writes X.intercepted.jsonl, X.keylog, X.flows and
X.interception.json from the session spool, and ``bench analyze --intercepted`` finds the
IMEI inside TLS; a pinning client's flow is opaque; tshark decrypts the capture with the cut
key log.

mitmdump runs in its own venv: BENCH_MITMDUMP, else the checkout's .venv-mitmproxy (``./run``
makes it), as the bench finds it. As on the virtual rack (pytestplugin/interception.py), the
interceptor listens where the phone connects (the endpoint's address, MITM_PORT) and passes
each request on to the endpoint's own TLS server (same address, UPSTREAM_PORT): the capture's
destination is the endpoint's address and the port the phone dialled.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR

from benches.capture.interception.interceptor import (
    Interceptor,
    InterceptorConfig,
    InterceptorError,
    find_mitmdump,
    modes_for,
)
from benches.capture.interception.session import InterceptionSession
from benches.capture.process import Capture
from benches.inventory.virtual import Endpoint
from benches.sim.network.certs import RackAuthority
from benches.sim.network.endpoints import EndpointServers
from tests.support.analyzecli import bench
from tests.support.paths import REPO

pytestmark = pytest.mark.live

PHONE = "127.215.0.2"
ENDPOINT = "127.215.0.10"  # the endpoint's address: analytics and pinned hosts resolve to it
RESOLVER = "127.215.0.53"
MITM_PORT = 18443  # the interceptor, where the phone connects
UPSTREAM_PORT = 18444  # the endpoint's own TLS server behind it
IMEI = "352098100123452"
ANALYTICS, PINNED = "analytics.partner.example", "pinned.partner.example"
OWNER = "Partner Analytics Ltd"
SUPPORT = REPO / "tests" / "support" / "mitm"

DEVICES = f"""\
bench:
  name: test-bench
  location: {{lat: 60.1699, lon: 24.9384, radius_km: 50}}
virtual:
  resolver: {RESOLVER}
  endpoints:
    - {{host: {ANALYTICS}, address: {ENDPOINT}, country: IE, owner: {OWNER}}}
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


def mitmdump() -> Path:
    try:
        return find_mitmdump()
    except InterceptorError as error:
        pytest.fail(str(error))


def _dns(queries: list[str]) -> None:
    """The phone looks the names up; the resolver answers with the endpoint's address."""
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
                         an=[DNSRR(rrname=name, type="A", rdata=ENDPOINT, ttl=60)])  # fmt: skip
            resolver.sendto(bytes(answer), client)
            phone.recv(512)


@pytest.fixture(scope="module")
def intercepted_cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One intercepted cycle, cut from the interceptor's spool as a bench cycle's is:
    X.pcap, X.intercepted.jsonl, X.interception.json, X.keylog, X.flows; the analytics
    client leaked its IMEI, the pinned client refused the interceptor's certificate."""
    folder = tmp_path_factory.mktemp("intercepted")
    pcap = folder / "boot-1.pcap"
    endpoints = EndpointServers(
        [Endpoint(ANALYTICS, ENDPOINT, "IE", OWNER)], RackAuthority(), tls_port=UPSTREAM_PORT
    )
    config = InterceptorConfig(
        modes=modes_for([(ENDPOINT, MITM_PORT, ENDPOINT, UPSTREAM_PORT)]),
        ports=(MITM_PORT,),
        spool=folder / "spool",
        confdir=folder / "conf",
        upstream_insecure=True,  # the endpoint's certificate comes from the rack's own CA
    )
    executable = mitmdump()
    interceptor = Interceptor(config, executable)
    endpoints.start()
    try:
        interceptor.start()
        session = InterceptionSession(config.spool, interceptor.mode, config.ports)
        capture = Capture("lo", [PHONE], pcap)
        capture.start()
        window = session.open_window(PHONE)
        _dns([ANALYTICS, PINNED])
        python = executable.with_name("python")  # mitmdump's venv has `h2`
        target = f"{ENDPOINT}:{MITM_PORT}"
        client = SUPPORT / "h2_client.py"
        leaked = subprocess.run(
            [python, client, PHONE, target, ANALYTICS, IMEI, "--cafile", interceptor.ca_cert],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        pinned = subprocess.run([python, client, PHONE, target, PINNED, IMEI, "--pinned"],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        assert (leaked.returncode, pinned.returncode) == (0, 3), (leaked.stderr, pinned.stderr)
        time.sleep(0.5)  # the last FINs reach the capture
        capture.stop()
        files = session.cut(PHONE, window, pcap, root=folder)
    finally:
        interceptor.stop()
        endpoints.stop()
    assert files.messages == pcap.with_name("boot-1.intercepted.jsonl")
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


def test_the_cut_holds_the_phones_own_sessions_owner_only(intercepted_cycle: Path) -> None:
    """The cut, not the spool: the spool's key log also holds the interceptor's own sessions
    with the endpoint; every cut file is owner-only."""
    names = ("keylog", "flows", "intercepted.jsonl", "interception.json")
    cut = [intercepted_cycle.with_name(f"boot-1.{name}") for name in names]
    assert {oct(path.stat().st_mode & 0o777) for path in cut} == {"0o600"}
    spool_keylog = intercepted_cycle.with_name("spool") / "keylog.txt"
    kept, written = (
        [line for line in path.read_text().splitlines() if line] for path in (cut[0], spool_keylog)
    )
    assert kept and set(kept) < set(written)


def test_the_cycle_meta_and_the_answer_came_from_the_endpoint(intercepted_cycle: Path) -> None:
    meta = json.loads(intercepted_cycle.with_name("boot-1.interception.json").read_text())
    assert (meta["mode"], meta["ports"], meta["phone"], meta["complete"], meta["reason"]) == (
        f"reverse:https://{ENDPOINT}:{UPSTREAM_PORT}@{ENDPOINT}:{MITM_PORT}",
        [MITM_PORT],
        PHONE,
        True,
        None,
    )
    records = [
        json.loads(line)
        for line in intercepted_cycle.with_name("boot-1.intercepted.jsonl").read_text().splitlines()
    ]
    (response,) = [r for r in records if r["kind"] == "response"]
    assert (response["server"], response["status"]) == (f"{ENDPOINT}:{MITM_PORT}", 200)
    assert base64.b64decode(response["content"]) == b'{"status":"ok"}'  # the endpoint's reply
