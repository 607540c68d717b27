"""The interceptor process: mitmdump with the bench's addon, started and stopped per session.

mitmproxy lives in its own virtual environment (`.venv-mitmproxy`, made by
`./run`; ``$BENCH_MITMDUMP`` names another mitmdump). `start()` returns once
the proxy listens (the addon's ``ready`` file), or raises InterceptorError
with one line; `alive()` says whether it still runs, which is what makes a
cycle's interception complete; `stop()` never raises.

Everything it writes goes to the session's spool folder (owner-only): the
addon's records, its flow file and mitmproxy's TLS key log. Its CA lives in its
confdir (``mitmproxy-ca-cert.pem``, the key owner-only), kept per bench.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benches.redaction.safe_files import PRIVATE, create_file, make_private_directory

MITMPROXY_VERSION = "11.0.2"
INTERCEPTOR = f"mitmproxy {MITMPROXY_VERSION}"
ADDON = Path(__file__).with_name("addon.py")
VENV = ".venv-mitmproxy"
KEYLOG = "keylog.txt"
READY = "ready"
CA_CERT = "mitmproxy-ca-cert.pem"


class InterceptorError(RuntimeError):
    """The interceptor cannot run; the message is one line and says what to do."""


def find_mitmdump(root: Path | None = None) -> Path:
    """$BENCH_MITMDUMP, else `.venv-mitmproxy/bin/mitmdump` of the checkout `./run` made."""
    named = os.environ.get("BENCH_MITMDUMP")
    if named:
        path = Path(named)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise InterceptorError(f"BENCH_MITMDUMP={named}: no executable mitmdump there")
    root = root or Path(__file__).resolve().parents[3]
    path = root / VENV / "bin" / "mitmdump"
    if path.is_file() and os.access(path, os.X_OK):
        return path
    raise InterceptorError(
        f"TLS interception needs mitmdump (mitmproxy {MITMPROXY_VERSION}) in {root / VENV}: "
        "run ./run once, or set BENCH_MITMDUMP"
    )


@dataclass(frozen=True)
class InterceptorConfig:
    modes: tuple[str, ...]  # mitmproxy mode specs, e.g. reverse:https://a:8443@a:443
    ports: tuple[int, ...]  # the phones' destination ports it intercepts
    spool: Path  # the session's spool folder (made owner-only by start())
    confdir: Path  # mitmproxy's confdir: its CA, kept per bench
    upstream_insecure: bool = False  # the virtual rack's endpoints carry rack-made certificates
    body_cap: int = 4 * 1024 * 1024
    # What the command runs under, e.g. ("ip", "netns", "exec", "gw") in a test's namespace.
    launcher: tuple[str, ...] = ()
    # The folder a person named (--reports): no link below it is followed. None: the
    # spool's and the confdir's own parent folders.
    root: Path | None = None

    def ca_pem(self) -> bytes:
        """The interceptor's CA certificate (PEM), which the phones must trust."""
        try:
            return (self.confdir / CA_CERT).read_bytes()
        except OSError as error:
            raise InterceptorError(f"the interceptor's CA is unreadable: {error}") from None


class Interceptor:
    def __init__(self, config: InterceptorConfig, mitmdump: Path | None = None) -> None:
        self.config = config
        self.mitmdump = mitmdump
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path = config.spool / "mitmdump.log"

    @property
    def mode(self) -> str:
        return " ".join(self.config.modes)

    @property
    def ca_cert(self) -> Path:
        return self.config.confdir / CA_CERT

    def command(self) -> list[str]:
        mitmdump = self.mitmdump or find_mitmdump()
        command = [*self.config.launcher, str(mitmdump), "--quiet", "-s", str(ADDON)]
        for mode in self.config.modes:
            command += ["--mode", mode]
        command += [
            "--set",
            f"confdir={self.config.confdir}",
            "--set",
            f"bench_spool={self.config.spool}",
            "--set",
            f"bench_body_cap={self.config.body_cap}",
            # Flows stay in the spool's flow file, not in mitmdump's memory.
            "--set",
            "stream_large_bodies=64m",
            # Reverse mode would write the upstream's address into Host: keep the phone's.
            "--set",
            "keep_host_header=true",
        ]
        if self.config.upstream_insecure:
            command += ["--set", "ssl_insecure=true"]
        return command

    def _root_of(self, folder: Path) -> Path:
        root = self.config.root
        if root is not None and folder.is_relative_to(root):
            return root
        return folder.parent

    def start(self, timeout: float = 30.0) -> None:
        command = self.command()
        for folder in (self.config.spool, self.config.confdir):
            make_private_directory(folder, self._root_of(folder))
        keylog = self.config.spool / KEYLOG
        # New, owner-only files in place (a link planted at either name is replaced):
        # mitmdump appends its keys to the first, its output goes to the second.
        os.close(create_file(keylog, root=self.config.spool, mode=PRIVATE))
        environment = dict(os.environ, MITMPROXY_SSLKEYLOGFILE=str(keylog))
        environment.pop("SSLKEYLOGFILE", None)
        log = create_file(self._log, root=self.config.spool, mode=PRIVATE)
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=environment,
                umask=0o077,
                start_new_session=True,
            )
        finally:
            os.close(log)
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        process = self._process
        assert process is not None
        ready = self.config.spool / READY
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready.exists():
                return
            if process.poll() is not None:
                raise InterceptorError(f"the interceptor (mitmdump) did not start: {self._tail()}")
            time.sleep(0.05)
        self.stop()
        raise InterceptorError(f"the interceptor (mitmdump) did not listen within {timeout:g}s")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exit_reason(self) -> str | None:
        """Why it is not running (None while it runs)."""
        process = self._process
        if process is None:
            return "never started"
        code = process.poll()
        if code is None:
            return None
        cause = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        return f"the interceptor (mitmdump) stopped: {cause}"

    def stop(self, timeout: float = 10.0) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _tail(self) -> str:
        try:
            lines = self._log.read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        useful = [line.strip() for line in lines if line.strip()]
        return useful[-1][:200] if useful else "no output"


def mitmdump_available(root: Path | None = None) -> bool:
    try:
        find_mitmdump(root)
    except InterceptorError:
        return False
    return True


def copy_owner_only(source: Path, target: Path) -> None:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out, source.open("rb") as data:
        shutil.copyfileobj(data, out)


def modes_for(targets: Sequence[tuple[str, int, str, int]]) -> tuple[str, ...]:
    """Reverse modes, one per (listen address, port, upstream address, port)."""
    return tuple(
        f"reverse:https://{upstream}:{upstream_port}@{listen}:{port}"
        for listen, port, upstream, upstream_port in targets
    )
