"""The real rack's redirect: nftables rules the bench installs and removes, tried for real in
network namespaces this test makes (phone -- gateway -- server), mitmdump in transparent mode
on the gateway, the capture on the gateway's LAN side."""

from __future__ import annotations

import base64
import gzip
import json
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benches.capture.interception.cut import CycleInterception, SpoolCutter
from benches.capture.interception.interceptor import INTERCEPTOR, Interceptor, InterceptorConfig
from benches.capture.interception.redirect import TABLE, RedirectError, RedirectRules
from benches.sim.network.certs import write_self_signed
from tests.support.netns_gateway import HOST, PHONE, SERVER, Namespaces, three_namespaces
from tests.support.paths import REPO
from tests.support.tools import require_tool

IMEI = "490154203237518"
PROXY_PORT = 8480  # inside the test's own gateway namespace


def test_the_rules_redirect_the_phones_tcp_and_drop_their_quic() -> None:
    rules = RedirectRules(("192.168.50.11", "2001:db8::12"), "eth1", 8080).ruleset()
    redirect = 'iifname "eth1" ip saddr { 192.168.50.11 } tcp dport { 80, 443 } redirect to :8080'
    assert redirect in rules
    drop = 'iifname "eth1" ip6 saddr 2001:db8::12 udp dport 443 counter name quic_blocked_2 drop'
    assert drop in rules and "hook forward" in rules
    assert rules.startswith(f"table inet {TABLE}\ndelete table inet {TABLE}\n")


def test_the_virtual_racks_rules_only_drop_its_phones_quic() -> None:
    rules = RedirectRules(("127.0.2.1", "127.0.2.2"), None, None, table="bench_q_x").ruleset()
    assert "redirect" not in rules and "iifname" not in rules and "hook output" in rules
    assert "ip saddr 127.0.2.2 udp dport 443 counter name quic_blocked_2 drop" in rules


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (RedirectRules(("10.0.0.2",), 'eth1" accept; #', 8080), "not an interface name"),
        (RedirectRules(("10.0.0.2 } accept",), "eth1", 8080), "not a phone address"),
        (RedirectRules((), "eth1", 8080), "no phone address to redirect"),
        (RedirectRules(("10.0.0.2",), "eth1", 8080, table="x; flush"), "not a table name"),
        (RedirectRules(("10.0.0.2",), "eth1", 8080, nft="nft-not-here"), "nftables: `nft` is not"),
    ],
)
def test_what_cannot_be_installed_is_one_line(rules: RedirectRules, message: str) -> None:
    with pytest.raises(RedirectError, match=message) as error:
        rules.install()
    assert len(str(error.value).splitlines()) == 1


@pytest.fixture
def spaces() -> Iterator[Namespaces]:
    with three_namespaces() as made:
        yield made


def _started(command: list[str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 20)
    line = process.stdout.readline().strip() if ready else ""
    if line != "ready":
        process.kill()
        raise AssertionError(f"{command[4:7]} did not start: {process.communicate()[1][-300:]}")
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@pytest.mark.live
def test_a_gateway_in_namespaces_intercepts_and_blocks_quic(
    spaces: Namespaces, tmp_path: Path
) -> None:
    require_tool("nft", "nftables")
    cert, key = write_self_signed(HOST, tmp_path / "server")
    python = sys.executable
    server = _started(
        [*spaces.launcher(spaces.server), python, "-m", "tests.support.netns_gateway", "server"]
        + ["--cert", str(cert), "--key", str(key)]
    )
    interceptor = Interceptor(
        InterceptorConfig(
            modes=(f"transparent@{PROXY_PORT}",),
            ports=(80, 443),
            spool=tmp_path / "spool",
            confdir=tmp_path / "confdir",
            upstream_insecure=True,
            launcher=spaces.launcher(spaces.gateway),
        )
    )
    rules = RedirectRules(
        (PHONE,), spaces.lan, PROXY_PORT, launcher=spaces.launcher(spaces.gateway)
    )
    pcap = tmp_path / "pcaps" / "SI_1-boot-1.pcap"
    pcap.parent.mkdir()
    capture = None
    try:
        interceptor.start()
        rules.install()
        capture = _started(
            [*spaces.launcher(spaces.gateway), python, "-m", "benches.capture.sniffer"]
            + ["--iface", spaces.lan, "--host", PHONE, "--out", str(pcap)]
        )
        start = time.time()
        said = spaces.run(
            spaces.phone,
            python,
            "-m",
            "tests.support.netns_gateway",
            "client",
            "--ca",
            str(interceptor.ca_cert),
            "--imei",
            IMEI,
        )
        assert said.stdout.split()[1:2] == ["200"]
        time.sleep(0.5)
        blocked = rules.quic_blocked(PHONE)
    finally:
        if capture is not None:
            _stop(capture)
        rules.remove()
        interceptor.stop()
        _stop(server)

    # The phone's QUIC attempt was dropped at the gateway, and counted.
    assert blocked.packets == 1 and blocked.bytes >= 1200
    # The rules are gone again, and nothing else of the gateway's ruleset was touched.
    assert TABLE not in spaces.run(spaces.gateway, "nft", "list", "tables").stdout

    state = CycleInterception(
        INTERCEPTOR, interceptor.mode, (80, 443), PHONE, (start, time.time()), True, None
    )
    files = SpoolCutter(interceptor.config.spool).cut(state, pcap, pcap.parent)
    request = json.loads(files.messages.read_text().splitlines()[0])
    # Transparent mode keeps the original destination: the server, not the proxy.
    assert request["server"] == f"{SERVER}:443" and request["client"].startswith(f"{PHONE}:")
    assert request["sni"] == HOST
    assert IMEI in gzip.decompress(base64.b64decode(request["content"])).decode()

    # The capture on the LAN side shows the phone talking to the server's address on 443,
    # its ClientHello's SNI, and decrypts with the cut key log.
    shown = subprocess.run(
        [
            require_tool("tshark", "tshark"),
            "-r",
            str(pcap),
            "-o",
            f"tls.keylog_file:{files.keylog}",
            "-T",
            "fields",
        ]
        + ["-e", "ip.dst", "-e", "tcp.dstport", "-e", "tls.handshake.extensions_server_name"]
        + ["-e", "http.request.uri", "-Y", "tls.handshake.type == 1 or http.request"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("\t") for line in shown.stdout.splitlines()]
    assert [SERVER, "443", HOST, ""] in rows, shown.stdout
    assert [SERVER, "443", "", "/v2/events"] in rows, shown.stdout
