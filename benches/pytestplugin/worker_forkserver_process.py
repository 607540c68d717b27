"""The fork server's process (`benches.pytestplugin.worker_forkserver`), run as a script:

    python worker_forkserver_process.py SOCKET SYS_PATH_JSON PYTEST_ARGS...

A script, not ``python -m``: nothing of the bench may be imported before pytest's config is
prepared. pytest marks its plugins' packages (the bench's among them) for assertion
rewriting and warns about any already imported plainly; prepared first, the plugins are
imported through its rewriting hook exactly as in a fresh worker (`xdist.remote` calls the
same `_prepareconfig`), and a forked worker's own config finds them rewritten.
"""

import contextlib
import json
import os
import signal
import socket
import sys


def main() -> None:
    socket_path, sys_path, *pytest_args = sys.argv[1:]
    sys.path[:] = json.loads(sys_path)  # the controller's, as xdist gives its workers
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(socket_path)  # at once: launchers queue until the server is ready
    except OSError as error:  # a path too long for AF_UNIX (a long TMPDIR), say
        print(f"bench fork server: cannot listen on {socket_path}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    listener.listen(256)
    # Ctrl-C reaches the workers from the terminal; this process ends with the controller.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from _pytest.config import _prepareconfig

    try:
        config = _prepareconfig(list(pytest_args), None)
        devices = str(config.getoption("devices"))
        config._ensure_unconfigure()  # its capture and import hook undone; the modules stay
    except (Exception, SystemExit) as error:  # the launchers queued start their workers fresh
        reason = " ".join(str(error).split()) or type(error).__name__
        print(f"bench fork server: cannot prepare pytest's config: {reason}", file=sys.stderr)
        raise SystemExit(1) from None

    from benches.pytestplugin.worker_forkserver import run_worker, serve

    forked = serve(listener, devices)
    if forked is not None:
        run_worker(*forked)
        return
    # The controller is gone (it also removes these; not when it was killed).
    with contextlib.suppress(OSError):
        os.unlink(socket_path)
        os.rmdir(os.path.dirname(socket_path))


if __name__ == "__main__":
    main()
