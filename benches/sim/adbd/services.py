"""The services an adb stream can open on the virtual adbd: shell, exec, shell v2, reboot."""

from __future__ import annotations

from collections.abc import Callable

from benches.sim.adbd import wire as proto
from benches.sim.adbd.files import PhoneFiles
from benches.sim.adbd.protocols import Daemon, ServiceStream
from benches.sim.adbd.sync import serve_sync

INTERACTIVE_REFUSAL = b"interactive shell not supported by this virtual device\n"


def service_handler(daemon: Daemon, service: str) -> Callable[[ServiceStream], None] | None:
    """What serves the OPEN of ``service``, or None to refuse it."""
    name, _, arg = service.partition(":")
    kind, *options = name.split(",")
    if kind == "shell":
        v2 = "v2" in options
        return lambda stream: _serve_shell(daemon, stream, arg, v2=v2)
    if kind == "exec" and not options:
        return lambda stream: _serve_shell(daemon, stream, arg, v2=False)
    if kind == "reboot" and not options:
        return lambda stream: _serve_reboot(daemon, stream, arg)
    files = daemon.files
    if files is not None and not options:
        if kind == "sync":
            return lambda stream: serve_sync(files, stream.read, stream.write)
        if kind == "root":
            return lambda stream: _serve_root(daemon, files, stream)
        if kind == "remount":
            return lambda stream: _serve_remount(files, stream)
    return None


def _serve_root(daemon: Daemon, files: PhoneFiles, stream: ServiceStream) -> None:
    """`adb root`: a userdebug adbd restarts as root (its connections drop); a user build's
    says no."""
    if not files.debuggable:
        stream.write(b"adbd cannot run as root in production builds\n")
        return
    if files.adbd_root:
        stream.write(b"adbd is already running as root\n")
        return
    stream.write(b"restarting adbd as root\n")
    files.adbd_root = True
    daemon.disconnect_all()


def _serve_remount(files: PhoneFiles, stream: ServiceStream) -> None:
    """`adb remount`: /system writable, on a root adbd only."""
    if not files.adbd_root:
        stream.write(b'Not running as root. Try "adb root" first.\n')
        return
    files.system_writable = True
    stream.write(b"remount succeeded\n")


def _serve_reboot(daemon: Daemon, stream: ServiceStream, arg: str) -> None:
    # Only the connections live now go down: on_reboot may already have
    # restarted the daemon, and its new connections must survive.
    run = stream.run
    with run.lock:
        connections = list(run.connections)
    daemon.on_reboot(arg)
    for conn in connections:
        conn.close()


def _serve_shell(daemon: Daemon, stream: ServiceStream, command: str, *, v2: bool) -> None:
    if not command.strip():
        _send_shell_output(stream, INTERACTIVE_REFUSAL, 1, v2=v2, to_stderr=True)
        return
    result = daemon.shell(command)
    _send_shell_output(stream, result.output, result.exit_code, v2=v2)


def _send_shell_output(
    stream: ServiceStream, output: bytes, exit_code: int, *, v2: bool, to_stderr: bool = False
) -> None:
    if not v2:
        stream.write(output)
        return
    packet_id = proto.SHELL_STDERR if to_stderr else proto.SHELL_STDOUT
    # One shell packet per WRTE: the 5-byte packet header counts against maxdata.
    step = stream.max_payload - proto.SHELL_HEADER_SIZE
    for start in range(0, len(output), step):
        stream.write(proto.encode_shell_packet(packet_id, output[start : start + step]))
    stream.write(proto.encode_shell_packet(proto.SHELL_EXIT, bytes([exit_code & 0xFF])))
