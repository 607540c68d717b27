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

import contextlib
import json
import os
import signal
import socket
import struct
import sys

HEADER = struct.Struct("!I")  # the request's length, then the request as JSON
MAX_REQUEST = 1 << 20  # an environment larger than this is no worker's
STREAMS = (0, 1, 2)  # stdin, stdout, stderr: what the worker runs on


def request_of(arguments: list[str]) -> bytes:
    """This process's request: what a worker started here would have had."""
    umask = os.umask(0)
    os.umask(umask)
    body = json.dumps(
        {"argv": arguments, "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask}
    ).encode("utf-8", "surrogateescape")
    return HEADER.pack(len(body)) + body


def ask(socket_path: str, arguments: list[str]) -> tuple[socket.socket, int] | str:
    """The connection and the forked worker's pid, or why no server took the request
    (then this process still has its pipes). Raises SystemExit when the server took them
    and did not answer."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.connect(socket_path)
        socket.send_fds(server, [request_of(arguments)], list(STREAMS))
    except OSError as error:
        server.close()
        return f"no fork server at {socket_path} ({error.strerror or error})"
    answer = b""
    while not answer.endswith(b"\n") and len(answer) < 64:
        try:
            chunk = server.recv(64)
        except OSError:
            chunk = b""
        if not chunk:
            break
        answer += chunk
    text = answer.decode("ascii", "replace").strip()
    if text == "refused":
        server.close()
        return "the fork server refused the request"
    if not text.isdigit():
        print(f"bench: the fork server took a worker's pipes and failed: {text!r}", file=sys.stderr)
        raise SystemExit(1)
    return server, int(text)


def let_go_of_pipes() -> None:
    """stdin and stdout belong to the worker now: the controller must see their end when
    the worker ends, not when this process does. stderr stays (the terminal's)."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


def wait_for(worker: socket.socket, pid: int) -> None:
    """Until the worker ends: its end of the connection closes with it, however it ends."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    # Ctrl-C reaches the worker from the terminal as it reaches every process of the group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            if not worker.recv(4096):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def main() -> None:
    socket_path, *arguments = sys.argv[1:]
    asked = ask(socket_path, arguments)
    if isinstance(asked, str):
        print(f"bench: a worker starts as a new interpreter: {asked}", file=sys.stderr)
        os.execv(sys.executable, [sys.executable, *arguments])
    worker, pid = asked
    let_go_of_pipes()
    wait_for(worker, pid)


if __name__ == "__main__":
    main()
