"""Flash and verify: the manifest's image, its SHA-256, the real `fastboot update`, the build check.

The phone is a FastbootServer on 127.0.72.0/24 that, like the virtual rack's
phones, learns its fingerprint from the system image it is flashed with.
"""

from __future__ import annotations

import hashlib
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from benches.inventory import load_manifest
from benches.inventory.models import Image, Manifest, Policy
from benches.rack.fastboot.client import Fastboot, FlashError, find_fastboot_binary
from benches.rack.fastboot.fingerprint import FingerprintMismatch, check_fingerprint
from benches.rack.fastboot.image import ImageRejected, flash_image, image_path, verify_image
from benches.sim.fastboot.server import FastbootServer, bootloader_variables
from benches.sim.firmware.images import BOARD, build_image, regenerate
from tests.support.paths import REPO
from tests.support.system_images import read_fingerprint

HOST = "127.0.72.10"
PORT = 5564
# Every test serves on HOST:PORT, so under xdist they run on one worker, one at a time.
pytestmark = pytest.mark.xdist_group("test_flash.py")

OLD = "Nokia/Onyx_00WW/B2N_sprout:10/QKQ1.190828.002/00WW_3_22C:user/release-keys"
NEW = "Nokia/Onyx_00WW/B2N_sprout:10/QKQ1.190828.002/00WW_3_22D:user/release-keys"


class VirtualBootloader:
    """A phone in its bootloader: it runs whatever system image it was last flashed with."""

    def __init__(self, board: str = BOARD) -> None:
        self.fingerprint = OLD
        self.reboots: list[str] = []
        self.server = FastbootServer(
            HOST,
            PORT,
            bootloader_variables(product=board, serialno="SIM7P0001"),
            on_flash=self.on_flash,
            on_reboot=self.reboots.append,
        )

    def on_flash(self, partition: str, data: bytes) -> None:
        if partition == "system":
            self.fingerprint = read_fingerprint(data) or ""


def make_manifest(folder: Path, sha256: str | None = None, fingerprint: str = NEW) -> Manifest:
    """firmware/X.yaml in `folder`, with its image built in firmware/images/."""
    firmware = folder / "firmware"
    digest = build_image(firmware / "images" / "X.zip", "00WW_3_22D", fingerprint)
    return Manifest(
        path=firmware / "X.yaml",
        build="00WW_3_22D",
        fingerprint=fingerprint,
        region="global",
        policy=Policy(allowed_countries=frozenset({"US"})),
        image=Image(path="images/X.zip", sha256=sha256 or digest),
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """The bootloader answers a reboot before it runs on_reboot, so the host may be first."""
    deadline = time.monotonic() + 10  # a hang guard, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def bootloader() -> Iterator[VirtualBootloader]:
    phone = VirtualBootloader()
    with phone.server:
        yield phone


@pytest.fixture
def fastboot(bootloader: VirtualBootloader) -> Fastboot:
    try:
        return Fastboot(bootloader.server.serial, timeout=30, binary=find_fastboot_binary())
    except FlashError as exc:
        pytest.fail(str(exc))


def test_flashing_the_image_changes_the_phones_build(
    bootloader: VirtualBootloader, fastboot: Fastboot, tmp_path: Path
) -> None:
    manifest = make_manifest(tmp_path)
    assert flash_image(manifest, fastboot) == tmp_path / "firmware" / "images" / "X.zip"
    assert bootloader.fingerprint == NEW
    assert set(bootloader.server.flashed) == {"boot", "system"}
    wait_for(lambda: bootloader.reboots != [], "the reboot")
    assert bootloader.reboots == [""]  # one reboot, after the last partition
    assert bootloader.server.commands[-1] == "reboot"
    check_fingerprint(bootloader.fingerprint, manifest, serial="SIM7P0001")


def test_a_sha256_mismatch_refuses_before_touching_the_phone(
    bootloader: VirtualBootloader, fastboot: Fastboot, tmp_path: Path
) -> None:
    wrong = hashlib.sha256(b"another build").hexdigest()
    manifest = make_manifest(tmp_path, sha256=wrong)
    actual = hashlib.sha256(image_path(manifest).read_bytes()).hexdigest()
    with pytest.raises(ImageRejected) as caught:
        flash_image(manifest, fastboot)
    message = str(caught.value)
    assert actual[:12] in message and wrong[:12] in message
    assert "\n" not in message
    assert bootloader.server.commands == [] and bootloader.fingerprint == OLD


def test_a_changed_image_file_is_refused(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    path = image_path(manifest)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ImageRejected, match="not flashing it"):
        verify_image(manifest)


def test_a_missing_image_is_one_line(
    bootloader: VirtualBootloader, fastboot: Fastboot, tmp_path: Path
) -> None:
    manifest = make_manifest(tmp_path)
    image_path(manifest).unlink()
    with pytest.raises(ImageRejected, match=r"^.*X\.yaml: image .*X\.zip does not exist$"):
        flash_image(manifest, fastboot)
    assert bootloader.server.commands == []


def test_a_manifest_without_image_cannot_flash(tmp_path: Path) -> None:
    manifest = replace(make_manifest(tmp_path), image=None)
    with pytest.raises(ImageRejected, match="names no image"):
        verify_image(manifest)


def test_an_image_for_another_board_is_refused_by_fastboot(tmp_path: Path) -> None:
    other = VirtualBootloader(board="DRG_sprout")
    manifest = make_manifest(tmp_path)
    with other.server:
        fastboot = Fastboot(other.server.serial, timeout=30)
        with pytest.raises(FlashError) as caught:
            flash_image(manifest, fastboot)
    message = str(caught.value)
    assert "DRG_sprout" in message and BOARD in message and "\n" not in message
    assert other.server.flashed == {} and other.reboots == []


def test_fingerprint_mismatch_names_both(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    with pytest.raises(FingerprintMismatch) as caught:
        check_fingerprint(OLD, manifest, serial="SIM7P0001")
    message = str(caught.value)
    assert message.startswith(f"SIM7P0001 runs {OLD}, but the manifest ")
    assert message.endswith(f"X.yaml is for {NEW}: not testing the wrong build")
    with pytest.raises(FingerprintMismatch, match="reports no ro.build.fingerprint"):
        check_fingerprint("", manifest, serial="SIM7P0001")
    check_fingerprint(NEW + "\n", manifest, serial="SIM7P0001")  # getprop's newline


def test_read_fingerprint() -> None:
    assert read_fingerprint(b"ro.build.fingerprint=A/b:1/c\nro.x=y\n") == "A/b:1/c"
    assert read_fingerprint(b"# ro.build.fingerprint=commented\n") is None
    assert read_fingerprint(b"\xff\xfe not text") is None
    assert read_fingerprint(b"ro.build.fingerprint=\n") is None


@pytest.mark.parametrize("name", ["ta1046-global-FIXED", "ta1046-global-LEAKY-with-cn-activation"])
def test_committed_images_match_their_manifests(name: str) -> None:
    manifest = load_manifest(REPO / "firmware" / f"{name}.yaml")
    assert manifest.image is not None
    path = verify_image(manifest)  # the committed file has the manifest's SHA-256
    with zipfile.ZipFile(path) as archive:
        assert read_fingerprint(archive.read("system.img")) == manifest.fingerprint
        assert archive.read("android-info.txt") == f"require board={BOARD}\n".encode()


def test_regenerated_images_are_the_committed_bytes(tmp_path: Path) -> None:
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    for manifest in (REPO / "firmware").glob("*.yaml"):
        shutil.copy(manifest, firmware / manifest.name)
    written = regenerate(firmware)
    assert len(written) == 2
    for path, digest in written:
        committed = REPO / "firmware" / "images" / path.name
        assert path.read_bytes() == committed.read_bytes()
        assert hashlib.sha256(committed.read_bytes()).hexdigest() == digest
