"""Opening a bench session for a rack, virtual or not: the one place that starts the simulator.

`BenchSession` (benches.rack.session) never imports benches.sim: a session for
a rack with a `virtual:` section is given its virtual rack, built here with a
lazy import, so a real bench never loads the simulator. The sign-off fixture
and the tests open their sessions through `open_bench`.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import pytest

from benches.capture.interception.interceptor import InterceptorError
from benches.capture.interception.redirect import RedirectError
from benches.capture.process import Capture, CaptureStartError
from benches.inventory.models import Manifest, Rack
from benches.pytestplugin.interception import (
    install_rules,
    start_interceptor,
    trust_interceptor,
)
from benches.rack.adb.server import AdbNotFoundError, AdbServerError
from benches.rack.fastboot.image import ImageRejected
from benches.rack.fastboot.rollout import flash_rack
from benches.rack.protocols import VirtualRackProtocol
from benches.rack.session import BenchSession


class BenchStartError(RuntimeError):
    """The bench itself could not start (adb, the virtual rack); the message is one line."""


def open_bench(
    rack: Rack, manifest: Manifest, workdir: Path, *, shared: bool = False
) -> BenchSession:
    """An open session on `rack`: its adb server, its virtual rack (files under `workdir`)
    when it has one, its phones switched on. BenchStartError when the bench cannot start,
    with everything it started stopped again. The caller closes the session. `shared`:
    a parallel sign-off's workers attach to it (`attach_bench`) and share its relays.
    With interception on, the TLS interceptor starts after the phones, its spool and CA
    below `workdir`'s parent (the reports folder)."""
    virtual, virtual_errors = _virtual_rack(rack, manifest, workdir)
    start_errors: tuple[type[Exception], ...] = (
        AdbNotFoundError,
        AdbServerError,
        InterceptorError,
        *virtual_errors,
    )
    session = BenchSession(rack, manifest, virtual, shared=shared)
    try:
        session.open()
        _start_interception(session, rack, manifest, workdir.parent)
    except start_errors as error:
        # What did start stops again; adb's own trouble is already the error to report.
        with contextlib.suppress(AdbNotFoundError, AdbServerError):
            session.close()
        raise BenchStartError(str(error)) from None
    return session


def _start_interception(
    session: BenchSession, rack: Rack, manifest: Manifest, reports: Path
) -> None:
    """The TLS interceptor beside the session, when the manifest intercepts (stopped with it)."""
    interceptor = start_interceptor(rack, manifest, reports)
    if interceptor is None:
        return
    session.on_close.append(interceptor.stop)
    try:
        rules = install_rules(rack)
    except RedirectError as error:
        raise InterceptorError(str(error)) from None
    if rules is not None:
        session.on_close.append(rules.remove)
    for complaint in trust_interceptor(session, interceptor, rack, manifest):
        sys.stderr.write(f"bench: {complaint}\n")


def attach_bench(rack: Rack, manifest: Manifest) -> BenchSession:
    """A parallel sign-off worker's session: the phones of the session the controller
    opened (`open_bench(..., shared=True)`), through its adb server and relay boards."""
    return BenchSession(rack, manifest, attached=True)


def _virtual_rack(
    rack: Rack, manifest: Manifest, workdir: Path
) -> tuple[VirtualRackProtocol | None, tuple[type[Exception], ...]]:
    """The simulator for a virtual rack, and the error it raises when it cannot start."""
    if rack.virtual is None:
        return None, ()
    # Imported here only: benches.sim is for virtual racks, and a real bench never loads it.
    from benches.sim.rack import VirtualRack, VirtualRackError

    try:
        return VirtualRack(rack, manifest, workdir), (VirtualRackError,)
    except VirtualRackError as error:
        raise BenchStartError(str(error)) from None


def flash_session(session: BenchSession, rack: Rack, firmware: Manifest) -> None:
    """The manifest's image on every phone of the session, before the first cycle."""
    try:
        flash_rack(list(session.phones.values()), firmware, rack.bench.timings, session.health)
    except ImageRejected as error:
        pytest.exit(f"not flashing: {error}", returncode=3)


def check_capture_permission(rack: Rack) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        probe = Capture(rack.bench.gateway.interface, ["127.0.0.1"], Path(scratch) / "probe.pcap")
        try:
            probe.start()
            probe.stop(grace=0)
        except CaptureStartError as error:
            raise pytest.UsageError(str(error)) from None
