"""One session per rack: real flock(2) locks held by real processes (tests/support/rack_locks).

Every test uses its own lock folder (BENCH_LOCK_DIR), so none meets a real session's.
"""

from __future__ import annotations

import getpass
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from benches.inventory import load_rack
from benches.rack.lock import RackInUse, RackLockError, lock_adb_server, lock_rack
from benches.rack.lock.resources import rack_resources
from tests.support.paths import REPO
from tests.support.rack_locks import holder, lock_env

ADAPTER_SERIAL = "A50285BI"  # an FTDI adapter's serial number, in its /dev/serial/by-id name
BY_ID = f"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_{ADAPTER_SERIAL}-if00-port0"
SINCE = re.compile(r" since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def rack_file(
    directory: Path,
    name: str,
    *,
    adb_port: int = 5137,
    relay: str | None = None,
    console: str | None = None,
    interface: str = "lo",
) -> Path:
    """A real (not virtual) rack of one phone using what the arguments say."""
    relays = f"  relays:\n    - {{name: relay0, driver: lcus, port: '{relay}'}}\n" if relay else ""
    power = "    power: {relay: relay0, channel: 1}\n" if relay else ""
    uart = f"    console: {{port: '{console}'}}\n" if console else ""
    text = (
        f"bench:\n  name: {name}\n  location: {{lat: 60.17, lon: 24.94}}\n"
        f"  gateway: {{interface: {interface}}}\n  adb: {{host: 127.0.0.1, port: {adb_port}}}\n"
        f"{relays}devices:\n  - serial: PHONE1\n    model: TA-1046\n"
        f"    network: {{ipv4: 192.168.50.11}}\n    identity: {{imei: ['352098100123452']}}\n"
        f"{power}{uart}"
    )
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "locks"
    monkeypatch.setenv("BENCH_LOCK_DIR", str(folder))
    monkeypatch.delenv("BENCH_LOCK_FDS", raising=False)
    return folder


def test_a_second_session_is_refused_at_once_naming_the_holder(
    tmp_path: Path, lock_dir: Path
) -> None:
    """The refusal comes while the holder still holds (it never waits for it): one line
    with the rack, user@host, the holder's pid and since when."""
    devices = rack_file(tmp_path, "lab-a")
    with holder(lock_dir, devices) as process:
        with pytest.raises(RackInUse) as refused:
            lock_rack(load_rack(devices))
        assert process.poll() is None
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("rack lab-a is in use by ")
    assert f"{getpass.getuser()}@{socket.gethostname()} pid {process.pid}" in message
    assert SINCE.search(message), message


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path, lock_dir: Path) -> None:
    devices = rack_file(tmp_path, "lab-a")
    with holder(lock_dir, devices) as process:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        with lock_rack(load_rack(devices)) as lock:  # at once: no waiting, no clean-up
            assert lock.held


def test_wait_waits_saying_on_whom_and_proceeds_when_the_holder_dies(
    tmp_path: Path, lock_dir: Path
) -> None:
    """The waiter reports whom it waits on; the holder is killed from that report, so the
    wait certainly began before the lock came free."""
    devices = rack_file(tmp_path, "lab-a")
    said: list[str] = []
    with holder(lock_dir, devices) as process:

        def report(line: str) -> None:
            said.append(line)
            if len(said) == 2:
                process.kill()

        with lock_rack(load_rack(devices), wait=True, report=report, every_s=0.0) as lock:
            assert lock.held
    assert len(said) >= 2
    assert said[0].startswith(f"waiting: rack lab-a is in use by {getpass.getuser()}@")
    assert f"pid {process.pid} since" in said[0]


@pytest.mark.parametrize(
    ("first", "second", "what"),
    [
        ({"adb_port": 5301}, {"adb_port": 5301}, "rack lab-b's adb server 127.0.0.1:5301"),
        (
            {"relay": "socket://127.0.0.1:7001"},
            {"relay": "rfc2217://127.0.0.1:7001"},  # ser2net's one port, two ways
            "rack lab-b's relay board relay0's port",
        ),
        ({"relay": "/dev/ttyUSB7"}, {"console": "/dev/ttyUSB7"}, "the console port of"),
        ({"interface": "eth7"}, {"interface": "eth7"}, "rack lab-b's gateway interface eth7"),
    ],
    ids=["adb-port", "relay-port", "relay-as-console", "gateway"],
)
def test_racks_with_other_names_collide_on_what_they_share(
    tmp_path: Path,
    lock_dir: Path,
    first: dict[str, object],
    second: dict[str, object],
    what: str,
) -> None:
    ports = iter(range(5311, 5320))
    first = {"adb_port": next(ports), **first}
    second = {"adb_port": next(ports), **second}
    rack_a = rack_file(tmp_path, "lab-a", **first)  # type: ignore[arg-type]
    rack_b = rack_file(tmp_path, "lab-b", **second)  # type: ignore[arg-type]
    with holder(lock_dir, rack_a), pytest.raises(RackInUse) as refused:
        lock_rack(load_rack(rack_b))
    assert what in str(refused.value)
    assert str(refused.value).endswith("for rack lab-a"), refused.value


def test_racks_sharing_nothing_run_side_by_side(tmp_path: Path, lock_dir: Path) -> None:
    """Other names, adb ports, relay and console ports; both on loopback, which is no
    gateway two virtual racks fight over."""
    rack_a = rack_file(tmp_path, "lab-a", adb_port=5321, relay="/dev/ttyUSB1")
    rack_b = rack_file(tmp_path, "lab-b", adb_port=5322, relay="/dev/ttyUSB2", console="/dev/ttyS3")
    with holder(lock_dir, rack_a), lock_rack(load_rack(rack_b)) as lock:
        assert lock.held


def test_discover_and_a_session_share_the_adb_server(tmp_path: Path, lock_dir: Path) -> None:
    devices = rack_file(tmp_path, "lab-a", adb_port=5331)
    with holder(lock_dir, devices), pytest.raises(RackInUse) as refused:
        lock_adb_server("localhost", 5331)
    assert str(refused.value).startswith("adb server localhost:5331 is in use by ")
    assert str(refused.value).endswith(", for rack lab-a")
    with holder(lock_dir, adb="127.0.0.1:5332"), pytest.raises(RackInUse):
        lock_rack(load_rack(rack_file(tmp_path, "lab-b", adb_port=5332)))


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "an unknown holder (its lock file is empty"),
        (b"\xff\xfe{not json", "an unknown holder (its lock file does not say who: garbled)"),
        (b'["a list"]', "garbled"),
        (b'{"user": "x", "host": "h", "pid": -3, "since": "now"}', "garbled"),
        (
            b'{"user": "ev\\u001b[2Jil\\nrack ok", "host": "h", "pid": 7, "since": "s"}',
            "in use by ev\\x1b[2Jil\\nrack ok@h pid 7 since s",
        ),
    ],
    ids=["empty", "bytes", "list", "bad-pid", "escapes"],
)
def test_holder_information_that_cannot_be_read_still_gives_one_line(
    tmp_path: Path, lock_dir: Path, content: bytes, said: str
) -> None:
    devices = rack_file(tmp_path, "lab-a")
    with holder(lock_dir, devices):
        for path in lock_dir.iterdir():
            path.write_bytes(content)  # the files are 0666: any user's session writes them
        with pytest.raises(RackInUse) as refused:
            lock_rack(load_rack(devices))
    message = str(refused.value)
    assert message.startswith("rack lab-a is in use by ")
    assert said in message
    assert "\n" not in message and "\x1b" not in message


def test_lock_files_never_name_an_identifier(tmp_path: Path, lock_dir: Path) -> None:
    """An adapter's serial number (in its by-id path) and a phone's serial stay out of the
    lock folder; messages name the phone by its masked label."""
    devices = rack_file(tmp_path, "lab-a", relay=BY_ID, console=BY_ID + "x")
    rack = load_rack(devices)
    with lock_rack(rack):
        names = " ".join(path.name for path in lock_dir.iterdir())
    assert len(list(lock_dir.glob("port-*.lock"))) == 2  # the relay's and the console's
    assert ADAPTER_SERIAL not in names and "PHONE1" not in names
    labels = " ".join(resource.label for resource in rack_resources(rack))
    assert "PHONE1" not in labels and ADAPTER_SERIAL not in labels


def test_a_child_holds_its_parents_lock_through_the_descriptors_passed_down(
    tmp_path: Path, lock_dir: Path
) -> None:
    """As `bench signoff` runs its pytest sessions: the child takes the rack under the
    parent's lock; without the descriptors (or with made-up ones) it is refused; the
    child's end does not let the parent's lock go."""
    devices = rack_file(tmp_path, "lab-a", relay="/dev/ttyUSB4")
    child = (
        "import sys; from pathlib import Path; from benches.inventory import load_rack\n"
        "from benches.rack.lock import RackInUse, lock_rack\n"
        "try: lock_rack(load_rack(Path(sys.argv[1]))).release()\n"
        "except RackInUse as e: sys.exit(f'refused: {e}')\n"
    )

    def run_child(
        env: dict[str, str], fds: tuple[int, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", child, str(devices)],
            cwd=REPO, env=env, pass_fds=fds, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip

    with lock_rack(load_rack(devices)) as lock:
        passed = run_child(lock_env(lock_dir, **lock.child_env()), lock.fds)
        assert passed.returncode == 0, passed.stderr
        alone = run_child(lock_env(lock_dir))
        assert alone.returncode == 1 and f"pid {os.getpid()}" in alone.stderr, alone.stderr
        made_up = run_child(lock_env(lock_dir, BENCH_LOCK_FDS="0,1,2,99,x"))
        assert "refused: rack lab-a is in use" in made_up.stderr
        with pytest.raises(RackInUse):  # still held: the child only closed its copies
            lock_rack(load_rack(devices))


def test_an_unusable_lock_folder_or_file_is_one_line(tmp_path: Path, lock_dir: Path) -> None:
    devices = rack_file(tmp_path, "lab-a")
    lock_dir.parent.mkdir(exist_ok=True)
    lock_dir.write_text("a file, not a folder")
    with pytest.raises(RackLockError) as error:
        lock_rack(load_rack(devices))
    assert str(lock_dir) in str(error.value) and "\n" not in str(error.value)
    lock_dir.unlink()
    lock_dir.mkdir()
    for resource in rack_resources(load_rack(devices)):
        (lock_dir / resource.file_name).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RackLockError, match="a link where a lock file should be"):
        lock_rack(load_rack(devices))
    assert not (tmp_path / "elsewhere").exists()


def test_an_identifier_typed_on_the_holders_command_line_is_masked_in_its_lock_file(
    tmp_path: Path, lock_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next session, perhaps another user's, reads who holds the rack: an IMEI the
    holder typed (a `-k` filter, a file name) reaches it masked, never raw."""
    monkeypatch.delenv("BENCH_SHOW_IDENTIFIERS", raising=False)
    devices = rack_file(tmp_path, "lab-a")
    monkeypatch.setattr(sys, "argv", ["bench", "signoff", "-k", "352098100123452"])
    with lock_rack(load_rack(devices)):
        held = " ".join(path.read_text() for path in lock_dir.glob("*.lock"))
    assert "352098100123452" not in held
    assert '"command": "bench signoff -k 3520' in held
