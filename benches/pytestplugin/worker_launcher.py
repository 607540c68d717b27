"""What pytest-xdist runs as a parallel sign-off's "python": asks the fork server for a worker.

execnet starts a worker as ``<python> -u -c <bootstrap line>`` with pipes on its stdin and
stdout. `benches.pytestplugin.worker_forkserver` sets ``<python>`` to
``python -S -E worker_launcher.py SOCKET``, so this script gets those arguments. It hands the
fork server its stdin, stdout and stderr (SCM_RIGHTS), its arguments, working directory,
environment and umask; the server forks a warm worker that runs the bootstrap on them. This
process then lets go of the pipes (so the controller sees the worker's end as the end of its
pipes, as with a worker of its own) and stays until the worker ends, forwarding SIGTERM: to
execnet it is the worker's process.

When no server answers (it never started, or is gone) the worker starts the usual way: this
process becomes the interpreter with the same arguments. A server that took the pipes and
then failed leaves the worker unstarted (exit 1; xdist reports it down), never two processes
on one pipe.

Standard library only, and nothing of the bench: it runs under ``-S`` and must start in
milliseconds.
"""

from __future__ import annotations

import _socket  # not `socket`: its enums are a third of this process's start-up
import os
import signal
import struct
import sys

HEADER = struct.Struct("!I")  # the request's length, then the request (`request_of`)
MAX_REQUEST = 1 << 20  # an environment larger than this is no worker's
STREAMS = (0, 1, 2)  # stdin, stdout, stderr: what the worker runs on
READY = "ready"  # the server's first line on a connection it accepted
REQUEST_FORMAT = b"1"


def request_of(arguments: list[str]) -> bytes:
    """This process's request: what a worker started here would have had. NUL-separated
    bytes (none of these can hold a NUL): the format, the working directory, the umask, the
    number of arguments, the arguments, then the environment's NAME=VALUE entries."""
    umask = os.umask(0)
    os.umask(umask)
    fields = [
        REQUEST_FORMAT,
        os.fsencode(os.getcwd()),
        str(umask).encode(),
        str(len(arguments)).encode(),
        *(os.fsencode(argument) for argument in arguments),
        *(name + b"=" + value for name, value in os.environb.items()),
    ]
    body = b"\0".join(fields)
    return HEADER.pack(len(body)) + body


def ask(socket_path: str, arguments: list[str]) -> tuple[_socket.socket, int] | str:
    """The connection and the forked worker's pid, or why no server took the request
    (then this process still has its pipes). Raises SystemExit when the server took them
    and did not answer.

    The pipes go only to a server that has accepted this connection and said READY: a
    server that dies before (while it warms up, say) leaves them here, and the worker
    starts the usual way."""
    server = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        server.connect(socket_path)
        greeting = read_line(server)
        if greeting != READY:
            server.close()
            return f"the fork server at {socket_path} did not answer ({greeting!r})"
        descriptors = struct.pack(f"{len(STREAMS)}i", *STREAMS)  # as array("i") would hold them
        rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, descriptors)]
        server.sendmsg([request_of(arguments)], rights)
    except OSError as error:
        server.close()
        return f"no fork server at {socket_path} ({error.strerror or error})"
    answer = read_line(server)
    if answer == "refused":
        server.close()
        return "the fork server refused the request"
    if not answer.isdigit():
        failed = f"bench: the fork server took a worker's pipes and failed: {answer!r}"
        print(failed, file=sys.stderr)
        raise SystemExit(1)
    return server, int(answer)


def read_line(server: _socket.socket) -> str:
    """One short line from the server ("" at its end), read byte by byte: nothing after it
    is taken from the socket."""
    line = b""
    while not line.endswith(b"\n") and len(line) < 64:
        try:
            byte = server.recv(1)
        except OSError:
            byte = b""
        if not byte:
            break
        line += byte
    return line.decode("ascii", "replace").strip()


def let_go_of_pipes() -> None:
    """stdin and stdout belong to the worker now: the controller must see their end when
    the worker ends, not when this process does. stderr stays (the terminal's)."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


class SignalRelay:
    """SIGTERM for the worker, from the start: one that comes before the worker exists is
    kept and sent once it does (or ends this process instead of a fresh interpreter)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []
        signal.signal(signal.SIGTERM, self._received)
        # Ctrl-C reaches the worker from the terminal as it reaches every process of the group.
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _received(self, signum: int, _frame: object) -> None:
        if self.pid is None:
            self.pending.append(signum)
            return
        _send(self.pid, signum)

    def worker_started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            _send(pid, signum)

    def before_exec(self) -> None:
        """The interpreter this process becomes starts with the usual dispositions."""
        if self.pending:
            raise SystemExit(128 + self.pending[0])
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:  # gone already (contextlib is not imported here: start-up time)
        return


def wait_for(worker: _socket.socket) -> None:
    """Until the worker ends: its end of the connection closes with it, however it ends."""
    while True:
        try:
            if not worker.recv(4096):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def main() -> None:
    relay = SignalRelay()
    socket_path, *arguments = sys.argv[1:]
    asked = ask(socket_path, arguments)
    if isinstance(asked, str):
        print(f"bench: a worker starts as a new interpreter: {asked}", file=sys.stderr)
        relay.before_exec()
        os.execv(sys.executable, [sys.executable, *arguments])
    worker, pid = asked
    relay.worker_started(pid)
    let_go_of_pipes()
    wait_for(worker)


if __name__ == "__main__":
    main()
