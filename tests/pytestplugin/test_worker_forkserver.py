"""The fork server a parallel sign-off's workers are forked from, and the launcher xdist runs
as their "python": real processes, a real Unix socket, descriptors passed with SCM_RIGHTS.

The launcher is started here exactly as execnet starts a worker (``<python> -u -c CODE``),
with a probe program for CODE that reports what the process it runs in looks like.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benches.pytestplugin.worker_forkserver import LAUNCHER, Forkserver
from tests.support.rackfiles import SHIPPED_RACK

# What a worker's process looks like from inside: printed as one JSON line.
PROBE = """
import json, os, signal, sys
print(json.dumps({
    "ctrl_c": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "warm": "benches.analysis.analyzer" in sys.modules,
    "pid": os.getpid(),
    "ppid": os.getppid(),
    "cwd": os.getcwd(),
    "value": os.environ.get("PROBE_VALUE"),
    "odd": os.environb.get(b"PROBE_ODD", b"").hex(),
    "umask": os.umask(0),
    "argv": sys.argv,
    "stdin": sys.stdin.readline().strip(),
    "no_bytecode": sys.dont_write_bytecode,
}), flush=True)
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without the suite's own xdist worker's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def server() -> Iterator[Forkserver]:
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("PYTEST_XDIST_")]:
            patch.delenv(name)
        started = Forkserver.start(["-p", "no:cacheprovider", "--devices", str(SHIPPED_RACK)])
    assert isinstance(started, Forkserver), started
    yield started
    started.stop()


def launcher_command(socket_path: Path, code: str, *options: str) -> list[str]:
    """As execnet runs a worker with `python=` set to the fork server's spec."""
    return [sys.executable, "-S", "-E", str(LAUNCHER), str(socket_path), "-u", *options, "-c", code]


def launch(
    socket_path: Path, cwd: Path, *options: str, code: str = PROBE, stdin: str = "hello\n"
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    done = subprocess.run(
        [*launcher_command(socket_path, code, *options), "extra-arg"],
        cwd=cwd,
        # "=" inside a value, and a byte that is no UTF-8 (as os.environ holds it).
        env=_clean_env(PROBE_VALUE="carried=as=is", PROBE_ODD="a\udcffb"),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        umask=0o027,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done


def test_a_launched_worker_is_a_fork_of_the_warm_server(server: Forkserver, tmp_path: Path) -> None:
    seen, done = launch(server.socket_path, tmp_path)
    assert seen["warm"] is True  # the bench's analyzer was imported before the fork
    assert seen["ppid"] == server.process.pid
    # What a worker started by the launcher itself would have had:
    assert seen["cwd"] == str(tmp_path)
    assert seen["value"] == "carried=as=is"
    assert seen["odd"] == "61ff62"
    assert seen["umask"] == 0o027
    assert seen["argv"] == ["-c", "extra-arg"]
    assert seen["stdin"] == "hello"  # the launcher's stdin, handed over
    assert seen["ctrl_c"] is True  # KeyboardInterrupt, as in a new interpreter
    assert done.stderr == ""


def test_minus_b_reaches_the_forked_worker(server: Forkserver, tmp_path: Path) -> None:
    """execnet adds -B for a spec with `dont_write_bytecode`."""
    seen, _ = launch(server.socket_path, tmp_path, "-B")
    assert seen["warm"] is True
    assert seen["no_bytecode"] is True


def test_without_a_server_the_worker_starts_as_a_new_interpreter(tmp_path: Path) -> None:
    missing = tmp_path / "no-server" / "socket"
    seen, done = launch(missing, tmp_path)
    assert seen["warm"] is False
    assert seen["ppid"] == os.getpid()  # the launcher became the interpreter (exec)
    assert seen["argv"] == ["-c", "extra-arg"] and seen["stdin"] == "hello"
    assert seen["ctrl_c"] is True  # the launcher's own SIGINT disposition not inherited
    assert done.stderr.splitlines() == [
        f"bench: a worker starts as a new interpreter: no fork server at {missing} "
        "(No such file or directory)"
    ]


def test_a_request_that_is_not_a_python_c_worker_is_refused_and_runs_fresh(
    server: Forkserver, tmp_path: Path
) -> None:
    seen, done = launch(server.socket_path, tmp_path, "-X", "utf8")
    assert seen["warm"] is False
    assert done.stderr.splitlines() == [
        "bench: a worker starts as a new interpreter: the fork server refused the request"
    ]
    again, _ = launch(server.socket_path, tmp_path)  # the server goes on serving
    assert again["warm"] is True


def test_garbage_on_the_socket_is_refused_and_the_server_goes_on(
    server: Forkserver, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stranger:
        stranger.settimeout(30)
        stranger.connect(str(server.socket_path))
        assert _read_lines(stranger, 1) == ["ready"]
        stranger.sendall(b"\x00\x00\x00\x05hello")  # a request without descriptors
        assert _read_lines(stranger, 1) == ["refused"]
    seen, _ = launch(server.socket_path, tmp_path)
    assert seen["warm"] is True


def test_the_launcher_ends_with_its_worker_however_it_ends(
    server: Forkserver, tmp_path: Path
) -> None:
    killed = "import os, signal; print(os.getpid(), flush=True); os.kill(os.getpid(), 9)"
    done = subprocess.run(
        launcher_command(server.socket_path, killed),
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    worker_pid = int(done.stdout.strip())
    assert worker_pid != server.process.pid
    # It returned (within the timeout) because the killed worker's end of the connection
    # closed; xdist reads a worker's end from its pipes, never this code.
    assert done.returncode == 0


def test_sigterm_to_the_launcher_reaches_its_worker(server: Forkserver, tmp_path: Path) -> None:
    waits = (
        "import os, signal, time\n"
        # os.write, not print: the signal may land while print('ready') is still returning.
        "signal.signal(signal.SIGTERM, lambda *_: (os.write(1, b'terminated\\n'), os._exit(0)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    launcher = subprocess.Popen(
        launcher_command(server.socket_path, waits),
        cwd=tmp_path,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert launcher.stdout is not None
    try:
        assert launcher.stdout.readline().strip() == "ready"
        launcher.send_signal(signal.SIGTERM)
        assert launcher.stdout.readline().strip() == "terminated"
        assert launcher.wait(timeout=30) == 0
    finally:
        launcher.kill()
        launcher.wait()
        launcher.stdout.close()


def test_stopping_the_server_ends_it_and_removes_its_socket(tmp_path: Path) -> None:
    started = Forkserver.start(["-p", "no:cacheprovider", "--devices", str(SHIPPED_RACK)])
    assert isinstance(started, Forkserver), started
    assert started.socket_path.exists()
    assert started.directory.stat().st_mode & 0o077 == 0  # only this user may connect
    started.stop()
    assert started.process.returncode == 0
    assert not started.directory.exists()


def test_the_server_ends_and_cleans_up_when_its_controller_is_gone() -> None:
    """A controller killed outright never calls stop(): its end closes the server's stdin."""
    started = Forkserver.start(["-p", "no:cacheprovider", "--devices", str(SHIPPED_RACK)])
    assert isinstance(started, Forkserver), started
    assert started.process.stdin is not None
    started.process.stdin.close()  # what the kernel does when the controller dies
    assert started.process.wait(timeout=30) == 0
    assert not started.directory.exists()


def _read_lines(connection: socket.socket, count: int) -> list[str]:
    data = b""
    while data.count(b"\n") < count:
        chunk = connection.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode().splitlines()


def _one_shot_server(path: Path, script: str) -> subprocess.Popen[str]:
    """A stand-in for a fork server that fails in one way: a real Unix socket in another
    process, which accepts one launcher and runs `script` on the connection."""
    program = (
        "import socket, sys\n"
        "listener = socket.socket(socket.AF_UNIX)\n"
        f"listener.bind({str(path)!r})\n"
        "listener.listen()\n"
        "print('listening', flush=True)\n"
        "connection, _ = listener.accept()\n" + script
    )
    server = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "listening"
    return server


def test_a_server_that_dies_before_it_is_ready_leaves_the_pipes_to_the_launcher(
    tmp_path: Path,
) -> None:
    """As a fork server killed while it warms up, launchers queued on its socket."""
    path = tmp_path / "socket"
    server = _one_shot_server(path, "connection.close()\n")
    seen, done = launch(path, tmp_path)
    server.wait(timeout=30)
    assert seen["warm"] is False and seen["stdin"] == "hello"  # ran once, as a new interpreter
    assert done.stderr.splitlines() == [
        f"bench: a worker starts as a new interpreter: the fork server at {path} did not "
        "answer ('')"
    ]


def test_a_server_that_takes_the_pipes_and_fails_leaves_the_worker_unstarted(
    tmp_path: Path,
) -> None:
    """Never two processes on one pipe: xdist sees a worker that did not start."""
    path = tmp_path / "socket"
    taker = (
        "connection.sendall(b'ready\\n')\n"
        "data, fds, _, _ = socket.recv_fds(connection, 65536, 3)\n"
        "connection.close()\n"
    )
    server = _one_shot_server(path, taker)
    done = subprocess.run(
        launcher_command(path, PROBE),
        cwd=tmp_path,
        env=_clean_env(),
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    server.wait(timeout=30)
    assert done.returncode == 1
    assert done.stdout == ""  # the probe never ran
    assert done.stderr.splitlines() == [
        "bench: the fork server took a worker's pipes and failed: ''"
    ]


def test_a_server_that_cannot_listen_is_one_line_and_no_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A socket path too long for AF_UNIX (a long TMPDIR): the workers start fresh."""
    long_tmp = tmp_path / ("d" * 120)
    long_tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(long_tmp))
    started = Forkserver.start(["-p", "no:cacheprovider", "--devices", str(SHIPPED_RACK)])
    assert started == "the fork server did not start"
    errors = capfd.readouterr().err.splitlines()
    assert len(errors) == 1 and errors[0].startswith("bench fork server: cannot listen on "), errors
    assert list(long_tmp.iterdir()) == []  # its folder removed


def test_a_server_that_cannot_prepare_pytest_is_one_line_and_its_launchers_start_fresh(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """pytest refusing the arguments in the server (here: an option no plugin adds)."""
    started = Forkserver.start(["--no-such-option"])
    assert isinstance(started, Forkserver), started  # its socket was bound first
    try:
        seen, done = launch(started.socket_path, tmp_path)
        assert seen["warm"] is False  # started fresh, with its pipes
        assert started.process.wait(timeout=30) == 1
    finally:
        started.stop()
    errors = capfd.readouterr().err.splitlines()
    server_lines = [line for line in errors if line.startswith("bench fork server:")]
    assert len(server_lines) == 1, errors
    assert server_lines[0].startswith("bench fork server: cannot prepare pytest's config: ")
    assert "unrecognized arguments: --no-such-option" in server_lines[0]
    assert "Traceback" not in "\n".join(errors)
