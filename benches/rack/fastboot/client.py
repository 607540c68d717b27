"""The bench's fastboot driver: the real `fastboot` binary, run with argument lists.

``Fastboot(serial)`` drives one phone that is already in its bootloader. The
serial is what ``fastboot -s`` takes: a USB serial, or ``tcp:HOST:PORT`` for
fastboot over TCP (the virtual rack's phones). Every failure is a
``FlashError`` whose text is one line: fastboot's own last meaningful line,
which for a refusal by the device is its ``FAILED (remote: '...')`` line.

Two habits of fastboot 29 shape this driver:

* ``getvar`` of an unknown variable prints ``FAILED`` but exits 0, so the
  output is read, not only the exit code;
* a ``tcp:`` device that does not answer is retried forever ("< waiting for
  ... >"), so every run has a timeout, after which fastboot is killed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

DEBIAN_FASTBOOT = "/usr/lib/android-sdk/platform-tools/fastboot"
FASTBOOT_HINT = "install it: apt-get install fastboot, or put the platform-tools on PATH"
PROBE_TIMEOUT_S = 5.0


class FlashError(Exception):
    """fastboot could not do what the bench asked; the message is one line."""


def find_fastboot_binary() -> str:
    """`fastboot` from $FASTBOOT, PATH or Debian's platform-tools folder."""
    for candidate in (os.environ.get("FASTBOOT"), shutil.which("fastboot"), DEBIAN_FASTBOOT):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FlashError(f"fastboot not found: {FASTBOOT_HINT}")


class Fastboot:
    """One phone in its bootloader, through the fastboot binary.

    Args:
        serial: ``fastboot -s`` argument (USB serial or ``tcp:HOST:PORT``).
        timeout: seconds any one fastboot run may take (a flash included).
        binary: the fastboot executable; found with ``find_fastboot_binary`` if absent.
    """

    def __init__(self, serial: str, timeout: float = 300.0, binary: str | None = None) -> None:
        self.serial = serial
        self.timeout = timeout
        self.binary = binary or find_fastboot_binary()

    @property
    def over_tcp(self) -> bool:
        return self.serial.startswith("tcp:")

    def devices_seen(self, timeout: float = PROBE_TIMEOUT_S) -> bool:
        """Is the phone in fastboot now? USB: `fastboot devices` lists it; TCP: getvar answers."""
        if self.over_tcp:
            try:
                self.getvar("product", timeout=timeout)
            except FlashError:
                return False
            return True
        try:
            listing = self._run(["devices"], timeout=timeout, with_serial=False)
        except FlashError:
            return False
        return any(line.split()[:1] == [self.serial] for line in listing.splitlines())

    def getvar(self, name: str, timeout: float | None = None) -> str:
        """A bootloader variable's value; FlashError when the device FAILs the query."""
        output = self._run(["getvar", name], timeout=timeout)
        prefix = f"{name}:"
        for line in output.splitlines():
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise FlashError(f"fastboot {self.serial} getvar {name}: {last_meaningful_line(output)}")

    def flash(self, partition: str, path: Path) -> None:
        """Flash one partition with one image file."""
        self._run(["flash", partition, str(_existing(path))])

    def update(self, zip_path: Path, reboot: bool = False) -> None:
        """Flash every image of an update zip (``fastboot update``).

        fastboot itself first checks the zip's ``android-info.txt`` requirements
        (``require board=...``) against the bootloader. It reboots afterwards only
        when ``reboot`` is true, so the caller decides when the phone leaves the
        bootloader.
        """
        args = ["update", str(_existing(zip_path))]
        self._run(args if reboot else ["--skip-reboot", *args])

    def reboot(self) -> None:
        """Leave the bootloader and boot the system."""
        self._run(["reboot"])

    def reboot_bootloader(self) -> None:
        self._run(["reboot", "bootloader"])

    def _run(self, args: list[str], timeout: float | None = None, with_serial: bool = True) -> str:
        """Run fastboot; its stdout and stderr together, or FlashError with one line."""
        command = [self.binary, *(["-s", self.serial] if with_serial else []), *args]
        limit = self.timeout if timeout is None else timeout
        what = f"fastboot {self.serial} {' '.join(args)}"
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise FlashError(f"{what}: no answer within {limit:g} s") from None
        except OSError as exc:
            raise FlashError(f"{what}: cannot run {self.binary}: {exc.strerror}") from None
        output = done.stdout + done.stderr
        # `getvar` exits 0 on a FAIL. Other commands print FAILED for the optional
        # getvars of their info dump (version-baseband, ...) and still succeed.
        refused = args[:1] == ["getvar"] and "FAILED" in output
        if done.returncode != 0 or refused:
            raise FlashError(f"{what}: {last_meaningful_line(output)}")
        return output


NOISE = ("Finished. Total time", "archive does not contain", "----")
GENERIC = "fastboot: error: Command failed"


def last_meaningful_line(output: str) -> str:
    """The line that says why fastboot failed, whitespace collapsed.

    The device's own words (``Writing 'x' FAILED (remote: '...')``) win over
    fastboot's summary after them (``fastboot: error: Command failed``). A failed
    requirements check names what the device is and what the zip requires.
    """
    lines = [" ".join(line.split()) for line in output.splitlines()]
    lines = [line for line in lines if line and not line.startswith(NOISE)]
    if not lines:
        return "fastboot failed without a message"
    if lines[-1] == GENERIC:
        failed = [line for line in lines if "FAILED" in line]
        return failed[-1] if failed else lines[-1]
    if "requirements not met" in lines[-1]:
        why = [line for line in lines if line.startswith(("Device ", "Update requires"))]
        return " ".join([lines[-1], *why])
    return lines[-1]


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise FlashError(f"image {path} does not exist")
    return path
