"""A warm process that forks a parallel sign-off's pytest-xdist workers.

pytest-xdist starts each worker as a new interpreter (``python -u -c <execnet bootstrap>``),
one after another, and each imports pytest, its plugins and the bench, loads the
IP-to-country data and builds the rack's detector: about a second of CPU. A 24-phone
sign-off on two cores spent 13 s on that before its first cycle. Here it is done once, and
every worker is a fork of this process (the idea of multiprocessing's forkserver, and of
Android's zygote):

- the controller (`ParallelController`) starts `worker_forkserver_process` with the
  arguments xdist gives every worker, and points xdist's specs at `worker_launcher`
  (`Forkserver.spec`);
- that process binds its socket at once, prepares a pytest config from those arguments
  as a worker does (so the plugins are imported, and assertion-rewritten, as in a worker),
  then fills the caches a worker reads, the geo data and the rack's detector (`warm`),
  right after it forked the first worker;
- for each launcher it receives the launcher's stdin, stdout and stderr, arguments, working
  directory, environment and umask, forks, and the child runs execnet's bootstrap on them
  exactly as ``python -u -c`` would (`run_worker`);
- it ends when the controller closes its stdin (the controller's end, however it ends).

A forked worker has nothing a fresh one would not have but what is imported and cached: this
process starts no thread and keeps no file open but the socket (closed in the child).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benches.pytestplugin.worker_launcher import (
    HEADER,
    MAX_REQUEST,
    READY,
    REQUEST_FORMAT,
    STREAMS,
)

LAUNCHER = Path(__file__).with_name("worker_launcher.py")
PROCESS = Path(__file__).with_name("worker_forkserver_process.py")
SOCKET_NAME = "socket"
REQUEST_TIMEOUT_S = 5.0  # a launcher sends its request at once; one that does not is dropped
REAP_INTERVAL_S = 0.2  # how often finished workers are waited for (their CPU then counts)
BIND_TIMEOUT_S = 10.0  # how long the controller waits for the socket before going without
STOP_TIMEOUT_S = 5.0
INTERPRETER_OPTIONS = {"-u", "-B"}  # what execnet puts before "-c"


@dataclass(frozen=True)
class WorkerRequest:
    streams: tuple[int, int, int]  # received descriptors for stdin, stdout, stderr
    code: str  # the -c program
    argv: tuple[str, ...]  # its sys.argv: "-c" and what followed the program
    cwd: str
    env: dict[str, str]
    umask: int
    write_bytecode: bool = True  # False with -B (execnet's `dont_write_bytecode`)


class RequestError(Exception):
    """A request that is no worker's: the launcher starts the worker the usual way."""


# --- the controller's handle --------------------------------------------------------------


@dataclass
class Forkserver:
    process: subprocess.Popen[bytes]
    directory: Path  # private (0700): only this user can connect

    @classmethod
    def start(cls, pytest_args: Sequence[str]) -> Forkserver | str:
        """The server, its socket bound; or why it could not start (then workers start fresh).
        `pytest_args`: what xdist gives every worker (the controller's own arguments)."""
        directory = Path(tempfile.mkdtemp(prefix="bench-forkserver-"))
        socket_path = directory / SOCKET_NAME
        command = [sys.executable, str(PROCESS), str(socket_path), json.dumps(sys.path)]
        try:
            process = subprocess.Popen([*command, *pytest_args], stdin=subprocess.PIPE)
        except OSError as error:
            shutil.rmtree(directory, ignore_errors=True)
            return f"cannot start the fork server: {error}"
        server = cls(process, directory)
        deadline = time.monotonic() + BIND_TIMEOUT_S
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                return "the fork server did not start"
            time.sleep(0.005)
        return server

    @property
    def socket_path(self) -> Path:
        return self.directory / SOCKET_NAME

    @property
    def spec(self) -> str:
        """An execnet spec whose "python" asks this server for the worker."""
        python = shlex.join([sys.executable, "-S", "-E", str(LAUNCHER), str(self.socket_path)])
        return f"popen//python={python}"

    def stop(self) -> None:
        """Ends the server (it waits for its workers first, so their CPU counts) and removes
        its socket."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


# --- the server ---------------------------------------------------------------------------


def serve(listener: socket.socket, devices: str) -> tuple[WorkerRequest, socket.socket] | None:
    """Forks workers until the controller closes stdin. Returns only in a forked worker:
    what it runs, and its connection to its launcher (kept open until it ends).

    The caches are filled after the first worker is forked (or when nothing is asked):
    that worker builds its own while its phone reboots, and meanwhile collects its tests
    and tells the controller to start the bench half a second earlier than it could
    after waiting for them (`ParallelController`'s cue)."""
    warmed = False
    controller = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([listener, controller], [], [], REAP_INTERVAL_S)
        reap()
        if controller in ready and not os.read(controller, 4096):
            listener.close()
            reap(until_none_left=True)
            return None
        if listener in ready:
            connection, _ = listener.accept()
            forked = fork_worker(connection)
            if forked is not None:
                listener.close()
                return forked
        if not warmed:
            warm(devices)
            gc.freeze()  # the warm objects: never collected in a worker, their pages not copied
            warmed = True


def fork_worker(connection: socket.socket) -> tuple[WorkerRequest, socket.socket] | None:
    """In the server: forks one worker and tells its launcher the pid (None). In the child:
    the request and the connection."""
    try:
        request = receive(connection)
    except RequestError as error:
        with contextlib.suppress(OSError):
            connection.sendall(b"refused\n")
        connection.close()
        print(f"bench fork server: {error}", file=sys.stderr)
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return request, connection
    for descriptor in request.streams:
        os.close(descriptor)
    with contextlib.suppress(OSError):
        connection.sendall(f"{pid}\n".encode())
    connection.close()
    return None


def receive(connection: socket.socket) -> WorkerRequest:
    """The launcher's descriptors and request, checked (after telling it to send them)."""
    connection.settimeout(REQUEST_TIMEOUT_S)
    try:
        connection.sendall(f"{READY}\n".encode())
    except OSError as error:
        raise RequestError(f"a launcher left before its request: {error}") from None
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    peer_uid = struct.unpack("3i", credentials)[1]
    try:
        data, descriptors, _flags, _address = socket.recv_fds(connection, 65536, len(STREAMS))
    except OSError as error:
        raise RequestError(f"a launcher's request did not arrive: {error}") from None
    try:
        if peer_uid != os.getuid():
            raise RequestError(f"a request from uid {peer_uid}, not this user's")
        if len(descriptors) != len(STREAMS):
            raise RequestError(f"a request with {len(descriptors)} descriptors, not 3")
        if len(data) < HEADER.size:
            raise RequestError("a request without its length")
        (length,) = HEADER.unpack_from(data)
        if length > MAX_REQUEST:
            raise RequestError(f"a request of {length} bytes")
        body = data[HEADER.size :]
        while len(body) < length:
            chunk = connection.recv(length - len(body))
            if not chunk:
                raise RequestError("a request cut short")
            body += chunk
        return parse_request(body, descriptors)
    except (RequestError, OSError, ValueError) as error:
        for descriptor in descriptors:
            os.close(descriptor)
        raise RequestError(str(error)) from None


def parse_request(body: bytes, descriptors: list[int]) -> WorkerRequest:
    """`worker_launcher.request_of`'s bytes, checked."""
    fields = body.split(b"\0")
    if fields[0] != REQUEST_FORMAT or len(fields) < 4:
        raise RequestError("a request of another format")
    count = int(fields[3])
    if count < 0 or len(fields) < 4 + count:
        raise RequestError(f"a request that names {count} arguments and has fewer")
    arguments = [os.fsdecode(field) for field in fields[4 : 4 + count]]
    env: dict[str, str] = {}
    for entry in fields[4 + count :]:
        name, equals, value = entry.partition(b"=")
        if not equals or not name:
            raise RequestError(f"an environment entry without a name: {entry[:40]!r}")
        env[os.fsdecode(name)] = os.fsdecode(value)
    options = 0
    while options < len(arguments) and arguments[options] in INTERPRETER_OPTIONS:
        options += 1
    if arguments[options : options + 1] != ["-c"] or len(arguments) < options + 2:
        raise RequestError(f"not a `python -c` worker: {arguments[:3]}")
    return WorkerRequest(
        streams=(descriptors[0], descriptors[1], descriptors[2]),
        code=arguments[options + 1],
        argv=("-c", *arguments[options + 2 :]),
        cwd=os.fsdecode(fields[1]),
        env=env,
        umask=int(fields[2]),
        write_bytecode="-B" not in arguments[:options],
    )


def reap(*, until_none_left: bool = False) -> None:
    """Waits for finished workers (a worker's launcher watches it; this only collects it,
    so that its CPU time counts in the controller's). At the end, for a few seconds at most."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not until_none_left or time.monotonic() > deadline:
                return
            time.sleep(0.01)


def warm(devices: str) -> None:
    """Fills the caches a sign-off worker reads, from the same rack file (`detector_for`
    keys its detector by the loaded rack, equal in the worker). Anything that fails here
    is left for the worker, which does it again and says what is wrong."""
    import execnet  # noqa: F401
    import xdist.remote  # noqa: F401

    from benches.analysis.analyzer import detector_for
    from benches.analysis.attribution.geo import GeoDatabase
    from benches.inventory import load_rack

    with contextlib.suppress(Exception):
        rack = load_rack(Path(devices))
        GeoDatabase.for_rack(rack).load()
        detector_for(rack)


# --- a forked worker ----------------------------------------------------------------------


def run_worker(request: WorkerRequest, launcher: socket.socket) -> None:
    """Becomes ``python -u -c CODE`` on the launcher's streams, and runs it. `launcher` stays
    open until this process ends: its launcher waits for that."""
    for target, descriptor in zip(STREAMS, request.streams, strict=True):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.chdir(request.cwd)
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.env)
    # New stream objects on the new 0, 1 and 2 (sys.__stdin__ and the others, the server's,
    # refer to the same numbers and hold nothing: it flushed them before forking).
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(  # noqa: SIM115
        2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1
    )
    sys.stdout.reconfigure(write_through=True)  # as -u
    sys.stderr.reconfigure(write_through=True)
    sys.argv = list(request.argv)
    # As a new interpreter would have it: -B, or PYTHONDONTWRITEBYTECODE in its environment.
    sys.dont_write_bytecode = not request.write_bytecode or bool(
        request.env.get("PYTHONDONTWRITEBYTECODE")
    )
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    _LIFELINE.append(launcher)
    exec(compile(request.code, "<string>", "exec"), main.__dict__)


_LIFELINE: list[socket.socket] = []  # a worker's connection to its launcher, never closed
