"""The interceptor for real: mitmdump with the bench's addon between a TLS client and server
on loopback (ports above 1024), and the spool cut into one cycle's files."""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benches.capture.interception.cut import CycleInterception, SpoolCutter
from benches.capture.interception.interceptor import (
    INTERCEPTOR,
    Interceptor,
    InterceptorConfig,
    InterceptorError,
    find_mitmdump,
    modes_for,
)
from benches.redaction.safe_files import UnsafePath
from benches.sim.network.certs import write_self_signed

HOST = "analytics.partner.example"
IMEI = "490154203237518"
ADDRESS = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((ADDRESS, 0))
        return int(probe.getsockname()[1])


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[int]:
    """A TLS endpoint with its own certificate, like the virtual rack's."""
    server = ThreadingHTTPServer((ADDRESS, free_port()), _Echo)
    cert, key = write_self_signed(HOST, tmp_path / "endpoint")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def interceptor(tmp_path: Path, upstream: int) -> Iterator[Interceptor]:
    listen = free_port()
    config = InterceptorConfig(
        modes=modes_for([(ADDRESS, listen, ADDRESS, upstream)]),
        ports=(listen,),
        spool=tmp_path / "spool",
        confdir=tmp_path / "confdir",
        upstream_insecure=True,
        body_cap=4096,
    )
    running = Interceptor(config)
    running.start()
    yield running
    running.stop()


def listen_port(interceptor: Interceptor) -> int:
    return interceptor.config.ports[0]


def post(port: int, body: bytes, trust: Path | None, keylog: Path | None = None) -> tuple[str, int]:
    """A phone's gzip'd JSON POST over TLS; (its own address:port, the status)."""
    context = ssl.create_default_context(cafile=str(trust) if trust else None)
    if keylog is not None:
        context.keylog_filename = str(keylog)
    raw = socket.create_connection((ADDRESS, port), timeout=10)
    with context.wrap_socket(raw, server_hostname=HOST) as sock:
        host, port_of_me = sock.getsockname()[:2]
        me = f"{host}:{port_of_me}"
        head = (
            f"POST /v1/events HTTP/1.1\r\nHost: {HOST}\r\nContent-Encoding: gzip\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return me, int(response.split()[1])


def cut(interceptor: Interceptor, tmp_path: Path, start: float, name: str = "SI_1-boot-1"):
    window = (start, time.time())
    state = CycleInterception(
        INTERCEPTOR, interceptor.mode, (443,), ADDRESS, window, interceptor.alive(), None
    )
    evidence = tmp_path / "pcaps"
    evidence.mkdir(exist_ok=True)
    return SpoolCutter(interceptor.config.spool).cut(state, evidence / f"{name}.pcap", evidence)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_an_intercepted_post_is_cut_into_the_cycles_four_files(
    tmp_path: Path, interceptor: Interceptor
) -> None:
    start = time.time()
    body = gzip.compress(json.dumps({"imei": IMEI}).encode())
    client_keylog = tmp_path / "client.keylog"
    me, status = post(listen_port(interceptor), body, interceptor.ca_cert, client_keylog)
    assert status == 200
    time.sleep(0.3)  # the response hook runs after the client has it
    files = cut(interceptor, tmp_path, start)

    request, response = records(files.messages)
    assert request["kind"] == "request" and response["kind"] == "response"
    assert request["client"] == me and request["server"] == f"{ADDRESS}:{listen_port(interceptor)}"
    assert request["sni"] == HOST and request["host"] == HOST and request["method"] == "POST"
    assert ["Content-Encoding", "gzip"] in request["headers"]
    assert base64.b64decode(request["content"]) == body  # still content-encoded
    assert request["content_size"] == len(body) and not request["content_truncated"]
    assert response["status"] == 200 and response["flow"] == request["flow"]

    # The cut key log holds exactly the phone's session: the secrets its client logged.
    lines = client_keylog.read_text().splitlines()
    client_lines = {line for line in lines if line.strip() and not line.startswith("#")}
    assert set(files.keylog.read_text().splitlines()) == client_lines

    meta = json.loads(files.meta.read_text())
    assert meta["interceptor"] == "mitmproxy 11.0.2" and meta["complete"] is True
    assert meta["phone"] == ADDRESS and meta["reason"] is None
    for path in (files.flows, files.keylog, files.messages, files.meta):
        assert path.stat().st_mode & 0o777 == 0o600, path
    for name in ("messages.jsonl", "keylog.txt", "flows.mitm", "connections.jsonl"):
        assert (interceptor.config.spool / name).stat().st_mode & 0o777 == 0o600, name

    # The flow file is mitmproxy's own: mitmproxy reads the cut back as one flow.
    python = find_mitmdump().with_name("python")
    read = subprocess.run(
        [
            str(python),
            "-c",
            "import sys; from mitmproxy import io; "
            "flows = list(io.FlowReader(open(sys.argv[1], 'rb')).stream()); "
            "print(len(flows), flows[0].request.pretty_host, flows[0].response.status_code)",
            str(files.flows),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.split() == ["1", HOST, "200"]


def test_a_body_over_the_cap_is_cut_off_and_marked(
    tmp_path: Path, interceptor: Interceptor
) -> None:
    start = time.time()
    body = os.urandom(10_000)
    post(listen_port(interceptor), body, interceptor.ca_cert)
    time.sleep(0.3)
    request = records(cut(interceptor, tmp_path, start).messages)[0]
    assert request["content_size"] == 10_000 and request["content_truncated"] is True
    assert base64.b64decode(request["content"]) == body[:4096]


def test_a_client_that_refuses_the_interceptors_certificate_is_a_tls_failure(
    tmp_path: Path, interceptor: Interceptor
) -> None:
    start = time.time()
    # A client that trusts another CA (its endpoint's own, as a pinned client would).
    elsewhere = tmp_path / "elsewhere"
    other_ca, _ = write_self_signed(HOST, elsewhere)
    with pytest.raises(ssl.SSLError):
        post(listen_port(interceptor), b"{}", trust=other_ca)
    time.sleep(0.3)
    failed = records(cut(interceptor, tmp_path, start).messages)
    assert [record["kind"] for record in failed] == ["tls_failed"]
    assert failed[0]["sni"] == HOST and failed[0]["client"].startswith(f"{ADDRESS}:")
    assert failed[0]["error"]


def test_each_cut_holds_only_its_window_and_phone(tmp_path: Path, interceptor: Interceptor) -> None:
    # Each window is cut when it closes, as the bench does, before the next one opens.
    cutter = SpoolCutter(interceptor.config.spool)
    evidence = tmp_path / "pcaps"
    evidence.mkdir()
    cuts = []
    for index in (1, 2):
        start = time.time()
        post(listen_port(interceptor), b"{}", interceptor.ca_cert)
        time.sleep(0.3)
        state = CycleInterception(
            INTERCEPTOR, "m", (443,), ADDRESS, (start, time.time()), True, None
        )
        cuts.append(cutter.cut(state, evidence / f"SI_1-boot-{index}.pcap", evidence))
        # Another phone's cut of the same window holds none of it.
        other = CycleInterception(
            INTERCEPTOR, "m", (443,), "127.0.0.2", (start, time.time()), True, None
        )
        none = cutter.cut(other, evidence / f"SI_2-boot-{index}.pcap", evidence)
        assert none.messages.read_bytes() == none.keylog.read_bytes() == b""
        assert none.flows.read_bytes() == b""
    one, two = (records(files.messages) for files in cuts)
    assert len(one) == len(two) == 2
    assert one[0]["flow"] != two[0]["flow"]
    assert cuts[0].keylog.read_text() != cuts[1].keylog.read_text()


def test_a_dead_interceptor_says_so(interceptor: Interceptor) -> None:
    assert interceptor.alive() and interceptor.exit_reason() is None
    os.kill(interceptor._process.pid, 9)  # type: ignore[union-attr]
    interceptor._process.wait()  # type: ignore[union-attr]
    assert not interceptor.alive()
    assert interceptor.exit_reason() == "the interceptor (mitmdump) stopped: killed by signal 9"


def test_a_missing_mitmdump_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BENCH_MITMDUMP", str(tmp_path / "mitmdump"))
    with pytest.raises(InterceptorError, match=r"^BENCH_MITMDUMP=.*: no executable mitmdump"):
        find_mitmdump()
    monkeypatch.delenv("BENCH_MITMDUMP")
    with pytest.raises(InterceptorError, match=r"run ./run once, or set BENCH_MITMDUMP$"):
        find_mitmdump(tmp_path)


def test_an_interceptor_that_cannot_listen_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((ADDRESS, 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = InterceptorConfig(
            modes=modes_for([(ADDRESS, port, ADDRESS, 9)]),
            ports=(port,),
            spool=tmp_path / "spool",
            confdir=tmp_path / "confdir",
        )
        with pytest.raises(InterceptorError, match="did not start"):
            Interceptor(config).start()


def test_a_link_planted_where_the_spool_goes_is_refused_and_followed_nowhere(
    tmp_path: Path,
) -> None:
    """The bench runs as root: a link in reports/ must not make it write, or chmod, elsewhere."""
    reports, elsewhere = tmp_path / "reports", tmp_path / "etc"
    elsewhere.mkdir(mode=0o755)
    (reports / "interception").mkdir(parents=True)
    (reports / "interception" / "spool").symlink_to(elsewhere)
    config = InterceptorConfig(
        modes=modes_for([(ADDRESS, free_port(), ADDRESS, free_port())]),
        ports=(443,),
        spool=reports / "interception" / "spool",
        confdir=reports / "interception" / "confdir",
        root=reports,
    )
    with pytest.raises(UnsafePath, match="spool"):
        Interceptor(config).start()
    assert list(elsewhere.iterdir()) == []
    assert elsewhere.stat().st_mode & 0o777 == 0o755
