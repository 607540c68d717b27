"""The virtual adbd against the real adb server and adbutils, plus the wire format itself.

Each test module run starts its own adb server on a free private port (never
5037) with its own HOME, and kills it at the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import socket
import stat
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import adbutils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benches.rack.adb import server as adbserver
from benches.rack.adb.server import AdbNotFoundError, AdbServer, AdbServerError, find_adb_binary
from benches.sim.adbd import wire as proto
from benches.sim.adbd.daemon import AdbDaemon
from benches.sim.adbd.protocols import ShellResult
from benches.sim.adbd.services import INTERACTIVE_REFUSAL
from benches.sim.adbd.wire import AdbMessage, AdbProtocolError
from tests.support.adb_states import devices_long, wait_for_state
from tests.support.adb_wire import decode

HOST = "127.0.1.1"
MODEL = "Nokia 7 plus"
BIG = 3 * 512 * 1024 + 12345  # > 1 MiB and not a multiple of any chunk size


def pattern(size: int) -> bytes:
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def wait_until(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.02)


class FakePhone:
    """The callbacks a virtual phone would give its AdbDaemon."""

    def __init__(self) -> None:
        self.props = {
            "ro.product.name": "Onyx_00WW",
            "ro.product.model": MODEL,
            "ro.product.device": "B2N_sprout",
        }
        self.commands: list[str] = []
        self.reboots: list[str] = []
        self.rebooted = threading.Event()
        self.daemon: AdbDaemon | None = None
        self.stop_on_reboot = False

    def banner(self) -> dict[str, str]:
        return dict(self.props)

    def shell(self, command: str) -> ShellResult:
        self.commands.append(command)
        words = shlex.split(command)
        if words[:1] == ["getprop"] and len(words) == 2:
            return ShellResult(self.props.get(words[1], "").encode() + b"\n", 0)
        if words[:1] == ["big"]:
            return ShellResult(pattern(int(words[1])), 0)
        if words[:1] == ["exit"]:
            return ShellResult(b"", int(words[1]))
        if words[:1] == ["sleep"]:
            time.sleep(float(words[1]))
            return ShellResult(b"slept\n", 0)
        return ShellResult(f"/system/bin/sh: {words[0]}: not found\n".encode(), 127)

    def on_reboot(self, arg: str) -> None:
        self.reboots.append(arg)
        if self.stop_on_reboot and self.daemon is not None:
            self.daemon.stop()  # from the daemon's own stream thread, as a phone may
        self.rebooted.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def adb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdbServer]:
    home = tmp_path_factory.mktemp("adb-home")
    env = {"HOME": str(home), "ANDROID_ADB_LOG_PATH": str(home / "adb.log")}
    srv = AdbServer("127.0.0.1", free_port(), usb=False, env=env)
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


@pytest.fixture
def adbd() -> Iterator[tuple[FakePhone, AdbDaemon]]:
    fake = FakePhone()
    daemon = AdbDaemon(HOST, 0, fake.banner, fake.shell, fake.on_reboot)
    fake.daemon = daemon
    daemon.start()
    try:
        yield fake, daemon
    finally:
        daemon.stop()
    assert not [t.name for t in threading.enumerate() if t.name.startswith(f"adbd-{daemon.port}-")]


@pytest.fixture
def attached(
    adb_server: AdbServer, adbd: tuple[FakePhone, AdbDaemon]
) -> Iterator[tuple[FakePhone, AdbDaemon, adbutils.AdbDevice]]:
    fake, daemon = adbd
    adb_server.connect(daemon.serial, timeout=5)
    wait_for_state(adb_server, daemon.serial, "device", timeout=5)
    try:
        yield fake, daemon, adb_server.client().device(serial=daemon.serial)
    finally:
        adb_server.disconnect(daemon.serial)


# -- through the real adb server ------------------------------------------------------


@pytest.mark.live
def test_adb_devices_lists_the_daemon_with_its_banner(adb_server: AdbServer, attached) -> None:
    _, daemon, _ = attached
    line = next(ln for ln in devices_long(adb_server).splitlines() if ln.startswith(daemon.serial))
    assert line.split()[1] == "device"
    assert "product:Onyx_00WW" in line
    assert "model:Nokia_7_plus" in line  # adb shows spaces as underscores
    assert "device:B2N_sprout" in line
    assert (daemon.serial, "device") in adb_server.devices()
    assert adb_server.client().device(serial=daemon.serial).get_features() == "shell_v2"


@pytest.mark.live
def test_adbutils_shell_returns_the_callbacks_answer(attached) -> None:
    fake, _, device = attached
    assert device.shell("getprop ro.product.model") == MODEL
    assert device.shell(["getprop", "ro.product.name"]) == "Onyx_00WW"
    assert "getprop ro.product.model" in fake.commands


@pytest.mark.live
def test_exit_code_over_shell_v2(adb_server: AdbServer, attached) -> None:
    _, daemon, device = attached
    assert device.shell2("exit 3", v2=True).returncode == 3
    done = adb_server.run("-s", daemon.serial, "shell", "exit", "42")
    assert done.returncode == 42
    done = adb_server.run("-s", daemon.serial, "shell", "nosuchcmd")
    assert done.returncode == 127
    assert "nosuchcmd: not found" in done.stdout


@pytest.mark.parametrize("how", ["shell_v1", "shell_v2", "exec-out"])
@pytest.mark.live
def test_large_output_arrives_intact(adb_server: AdbServer, attached, how: str) -> None:
    _, daemon, device = attached
    if how == "shell_v1":
        output = device.shell(f"big {BIG}", encoding=None)
    elif how == "shell_v2":
        output = device.shell2(f"big {BIG}", encoding=None, v2=True).stdout
    else:
        command = [str(adb_server.adb), "-P", str(adb_server.port), "-s", daemon.serial]
        output = subprocess.run(
            [*command, "exec-out", "big", str(BIG)], capture_output=True, check=True, timeout=30
        ).stdout
    assert len(output) == BIG
    assert output == pattern(BIG)


@pytest.mark.live
def test_concurrent_streams_run_in_parallel(attached) -> None:
    _, _, device = attached
    results: list[str] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: results.append(device.shell("sleep 0.5"))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["slept"] * 6
    assert time.monotonic() - started < 2.5  # six 0.5 s commands, not run one by one


@pytest.mark.live
def test_unknown_service_is_closed(adb_server: AdbServer, attached) -> None:
    _, daemon, device = attached
    conn = device.open_transport()
    try:
        conn.send_command("sync:")
        with pytest.raises(adbutils.AdbError, match="closed"):
            conn.check_okay()
    finally:
        conn.close()
    done = adb_server.run("-s", daemon.serial, "push", __file__, "/sdcard/")
    assert done.returncode != 0
    assert device.shell("getprop ro.product.model") == MODEL  # the transport is still fine


@pytest.mark.live
def test_interactive_shell_is_refused_clearly(adb_server: AdbServer, attached) -> None:
    _, daemon, device = attached
    done = adb_server.run("-s", daemon.serial, "shell")
    assert done.returncode == 1
    assert INTERACTIVE_REFUSAL.decode().strip() in done.stderr
    assert device.shell("", encoding=None) == INTERACTIVE_REFUSAL  # legacy shell: in stdout


@pytest.mark.live
def test_adb_reboot_goes_offline_and_comes_back(adb_server: AdbServer, attached) -> None:
    fake, daemon, device = attached
    fake.stop_on_reboot = True
    done = adb_server.run("-s", daemon.serial, "reboot", "bootloader", timeout=10)
    assert done.returncode == 0, done.stderr
    assert fake.rebooted.wait(5)
    assert fake.reboots == ["bootloader"]
    assert not daemon.running
    assert wait_for_state(adb_server, daemon.serial, "offline", None, timeout=5) in (
        "offline",
        None,
    )

    daemon.start()  # "booted": same host:port
    adb_server.reconnect(daemon.serial, timeout=5)
    wait_for_state(adb_server, daemon.serial, "device", timeout=5)
    assert device.shell("getprop ro.product.model") == MODEL


@pytest.mark.live
def test_reboot_service_through_adbutils_drops_connections(adb_server: AdbServer, attached) -> None:
    fake, daemon, device = attached
    conn = device.open_transport()
    conn.send_command("reboot:recovery")
    conn.check_okay()
    assert conn.read_until_close() == ""  # the server closes the stream as the device drops
    assert fake.reboots == ["recovery"]
    # The daemon still listens (the phone did not stop it), so the server's own
    # retry brings the device back without any `adb connect`.
    assert daemon.running
    wait_for_state(adb_server, daemon.serial, "device", timeout=10)
    assert device.shell("getprop ro.product.model") == MODEL


@pytest.mark.live
def test_stop_takes_the_device_offline_and_start_brings_it_back(
    adb_server: AdbServer, attached
) -> None:
    _, daemon, device = attached
    daemon.stop()
    daemon.stop()  # idempotent
    assert wait_for_state(adb_server, daemon.serial, "offline", None, timeout=5)
    with socket.socket() as probe:
        assert probe.connect_ex((HOST, daemon.port)) != 0  # nothing listens any more
    daemon.start()
    daemon.start()  # idempotent
    adb_server.reconnect(daemon.serial, timeout=5)
    wait_for_state(adb_server, daemon.serial, "device", timeout=5)
    assert device.shell("getprop ro.product.model") == MODEL


# -- raw protocol clients ------------------------------------------------------------


class RawClient:
    """A minimal host side, for what the adb server never sends."""

    def __init__(self, port: int, maxdata: int = proto.MAX_PAYLOAD) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.maxdata = maxdata

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        self.sock.sendall(proto.encode(AdbMessage(command, arg0, arg1, data)))

    def recv_exact(self, size: int) -> bytes:
        buf = b""
        while len(buf) < size:
            chunk = self.sock.recv(size - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def recv(self) -> AdbMessage:
        header = proto.parse_header(self.recv_exact(proto.HEADER_SIZE))
        data = self.recv_exact(header.data_length)
        return decode(proto.encode(AdbMessage(*header[:3], data)), verify_checksum=True)

    def connect(self) -> AdbMessage:
        self.send(proto.A_CNXN, proto.A_VERSION, self.maxdata, b"host::features=shell_v2")
        return self.recv()

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def test_raw_handshake_and_unknown_service(adbd) -> None:
    _, daemon = adbd
    client = RawClient(daemon.port)
    try:
        cnxn = client.connect()
        assert (cnxn.command, cnxn.arg0, cnxn.arg1) == (proto.A_CNXN, 0x01000001, 256 * 1024)
        assert cnxn.data == (
            b"device::ro.product.name=Onyx_00WW;ro.product.model=Nokia 7 plus;"
            b"ro.product.device=B2N_sprout;features=shell_v2"
        )
        client.send(proto.A_OPEN, 7, 0, b"framebuffer:\0")
        assert client.recv() == AdbMessage(proto.A_CLSE, 0, 7)
    finally:
        client.close()


def test_wrte_respects_maxdata_and_waits_for_okay(adbd) -> None:
    _, daemon = adbd
    client = RawClient(daemon.port, maxdata=4096)
    try:
        client.connect()
        client.send(proto.A_OPEN, 5, 0, b"shell:big 10000\0")
        okay = client.recv()
        assert (okay.command, okay.arg1) == (proto.A_OKAY, 5)
        local_id = okay.arg0
        received = b""
        while True:
            msg = client.recv()
            if msg.command == proto.A_CLSE:
                assert (msg.arg0, msg.arg1) == (local_id, 5)
                break
            assert (msg.command, msg.arg0, msg.arg1) == (proto.A_WRTE, local_id, 5)
            assert len(msg.data) <= 4096
            received += msg.data
            # Flow control: nothing more until we acknowledge this WRTE.
            client.sock.settimeout(0.15)
            with pytest.raises(TimeoutError):
                client.sock.recv(1)
            client.sock.settimeout(5)
            client.send(proto.A_OKAY, 5, local_id)
        assert received == pattern(10000)
    finally:
        client.close()


def test_peer_clse_ends_the_stream_and_the_connection_lives_on(adbd) -> None:
    _, daemon = adbd
    client = RawClient(daemon.port, maxdata=4096)
    try:
        client.connect()
        client.send(proto.A_OPEN, 9, 0, b"shell,v2,raw:big 100000\0")
        local_id = client.recv().arg0
        first = client.recv()
        assert first.command == proto.A_WRTE
        assert first.data[0] == proto.SHELL_STDOUT
        client.send(proto.A_CLSE, 9, local_id)  # hang up mid-output
        client.send(proto.A_OPEN, 10, 0, b"shell,v2:exit 7\0")
        reply = client.recv()
        assert (reply.command, reply.arg1) == (proto.A_OKAY, 10)
        exit_packet = client.recv()
        assert exit_packet.data == proto.encode_shell_packet(proto.SHELL_EXIT, b"\x07")
        client.send(proto.A_OKAY, 10, reply.arg0)
        assert client.recv() == AdbMessage(proto.A_CLSE, reply.arg0, 10)
    finally:
        client.close()


BAD_INPUTS = {
    "garbage": b"GET / HTTP/1.1\r\nHost: 127.0.1.1\r\n\r\n",
    "wrong magic": struct.pack("<6I", proto.A_CNXN, proto.A_VERSION, 4096, 0, 0, 0x12345678),
    "over-long payload": struct.pack(
        "<6I", proto.A_WRTE, 1, 1, 64 * 1024 * 1024, 0, proto.A_WRTE ^ 0xFFFFFFFF
    ),
    "open before cnxn": proto.encode(AdbMessage(proto.A_OPEN, 1, 0, b"shell:id\0")),
    "bad version": proto.encode(AdbMessage(proto.A_CNXN, 0x00000001, 4096, b"host::")),
}


@pytest.mark.parametrize("bad", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
@pytest.mark.live
def test_bad_input_drops_only_that_connection(
    attached, bad: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    fake, daemon, device = attached
    caplog.set_level(logging.INFO, logger="benches.sim.adbd")
    excepthook_calls: list[object] = []
    previous_hook = threading.excepthook
    threading.excepthook = excepthook_calls.append
    try:
        client = RawClient(daemon.port)
        try:
            client.sock.sendall(bad)
            assert client.closed_by_peer()
        finally:
            client.close()
        assert device.shell("getprop ro.product.model") == MODEL  # others still served
    finally:
        threading.excepthook = previous_hook
    assert excepthook_calls == []
    dropped = [r for r in caplog.records if "dropping" in r.getMessage()]
    assert len(dropped) == 1 and "\n" not in dropped[0].getMessage()
    assert dropped[0].exc_info is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(noise=st.binary(min_size=1, max_size=200), handshake=st.booleans())
def test_fuzz_daemon_survives_random_input(adbd, noise: bytes, handshake: bool) -> None:
    _, daemon = adbd
    escaped: list[object] = []
    previous_hook, threading.excepthook = threading.excepthook, escaped.append
    try:
        client = RawClient(daemon.port)
        try:
            if handshake:
                client.connect()
            client.sock.sendall(noise)
        finally:
            client.close()
        probe = RawClient(daemon.port)
        try:
            assert probe.connect().command == proto.A_CNXN
        finally:
            probe.close()
    finally:
        threading.excepthook = previous_hook
    assert escaped == []


def test_truncated_packet_then_hangup(adbd) -> None:
    _, daemon = adbd
    client = RawClient(daemon.port)
    client.sock.sendall(proto.encode(AdbMessage(proto.A_CNXN, proto.A_VERSION, 4096, b"hi"))[:30])
    client.close()
    wait_until(lambda: daemon.connection_count == 0, what="the daemon to forget the connection")


def test_stop_closes_live_connections_and_restarts_on_same_port(adbd) -> None:
    _, daemon = adbd
    port = daemon.port
    clients = [RawClient(port) for _ in range(3)]
    for client in clients:
        client.connect()
    wait_until(lambda: daemon.connection_count == 3)
    daemon.stop()
    assert all(client.closed_by_peer() for client in clients)
    for client in clients:
        client.close()
    assert not [t for t in threading.enumerate() if t.name.startswith(f"adbd-{port}-")]
    daemon.start()
    assert daemon.port == port
    client = RawClient(port)
    try:
        assert client.connect().command == proto.A_CNXN
    finally:
        client.close()


def test_bad_banner_is_refused_not_sent(adbd) -> None:
    fake, daemon = adbd
    fake.props["ro.product.model"] = "evil;features=everything"
    client = RawClient(daemon.port)
    try:
        client.send(proto.A_CNXN, proto.A_VERSION, 4096, b"host::")
        assert client.closed_by_peer()
    finally:
        client.close()


# -- the wire format -----------------------------------------------------------------


@pytest.mark.parametrize("command", proto.COMMAND_NAMES, ids=proto.COMMAND_NAMES.values())
def test_encode_decode_round_trip(command: int) -> None:
    message = AdbMessage(command, 0x01020304, 0xFFFFFFFF, b"payload\0\xff")
    wire = proto.encode(message)
    assert len(wire) == proto.HEADER_SIZE + 9
    assert wire[:4] == proto.COMMAND_NAMES[command].encode()  # commands are ASCII on the wire
    assert decode(wire, verify_checksum=True) == message


def test_decode_rejects_malformed_headers() -> None:
    good = proto.encode(AdbMessage(proto.A_WRTE, 1, 2, b"abc"))
    with pytest.raises(AdbProtocolError, match="magic"):
        decode(good[:20] + b"\0\0\0\0" + good[24:])
    with pytest.raises(AdbProtocolError, match="exceeds"):
        decode(good, max_payload=2)
    with pytest.raises(AdbProtocolError, match="header says"):
        decode(good[:-1])
    with pytest.raises(AdbProtocolError, match="expected 24"):
        decode(good[:10])
    with pytest.raises(AdbProtocolError, match="checksum"):
        decode(good[:-1] + b"x", verify_checksum=True)
    unknown = struct.pack("<6I", 0x41414141, 0, 0, 0, 0, 0x41414141 ^ 0xFFFFFFFF)
    with pytest.raises(AdbProtocolError, match="unknown command"):
        decode(unknown)


def test_banner_encoding() -> None:
    banner = proto.encode_banner("device", {"ro.product.model": "Nokia 7 plus"}, ["shell_v2"])
    assert banner == b"device::ro.product.model=Nokia 7 plus;features=shell_v2"
    with pytest.raises(ValueError):
        proto.encode_banner("device", {"ro.product.model": "a:b"}, [])


@given(st.binary(max_size=64))
def test_fuzz_decoder_returns_message_or_protocol_error(data: bytes) -> None:
    try:
        message = decode(data)
    except AdbProtocolError:
        return
    assert proto.encode(message)[:16] == data[:16]


@given(
    st.sampled_from(sorted(proto.COMMAND_NAMES)),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=512),
    st.integers(0, 600),
    st.binary(min_size=1, max_size=4),
)
def test_fuzz_corrupted_messages(
    command: int, arg0: int, arg1: int, data: bytes, where: int, junk: bytes
) -> None:
    wire = bytearray(proto.encode(AdbMessage(command, arg0, arg1, data)))
    assert decode(bytes(wire), verify_checksum=True) == AdbMessage(command, arg0, arg1, data)
    wire[where % len(wire) : where % len(wire) + len(junk)] = junk
    with contextlib.suppress(AdbProtocolError):
        decode(bytes(wire), max_payload=1024)


# -- finding adb ---------------------------------------------------------------------


def test_find_adb_prefers_bench_adb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "adb"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BENCH_ADB", str(fake))
    assert find_adb_binary() == fake
    monkeypatch.setenv("BENCH_ADB", str(tmp_path / "missing"))
    with pytest.raises(AdbNotFoundError, match="BENCH_ADB"):
        find_adb_binary()


def test_find_adb_uses_the_bundled_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_ADB", raising=False)
    found = find_adb_binary()
    assert found.name == "adb" and os.access(found, os.X_OK)


def test_find_adb_explains_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_ADB", raising=False)
    monkeypatch.setattr(adbserver, "_bundled_adb", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AdbNotFoundError) as error:
        find_adb_binary()
    message = str(error.value)
    assert "apt-get install adb" in message and "BENCH_ADB" in message and "\n" not in message


@pytest.mark.live
def test_connect_to_nothing_times_out_with_adbs_words(adb_server: AdbServer) -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        dead = f"{HOST}:{s.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(AdbServerError, match="refused"):
        adb_server.connect(dead, timeout=0.5)
    assert time.monotonic() - started < 5
    assert dead not in dict(adb_server.devices())
