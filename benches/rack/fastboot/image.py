"""A manifest's image: where it is, whether its bytes are the manifest's, and flashing it
onto one phone.

* ``verify_image(manifest)``: the image file exists and its SHA-256 is the
  manifest's; otherwise a one-line ``ImageRejected`` naming both hashes.
* ``flash_image(manifest, fastboot)``: verifies, then ``fastboot update`` and a
  reboot, for a phone already in its bootloader. Getting it there and waiting
  for the boot afterwards is the adb side's job (benches.rack.fastboot.rollout).

The manifest's ``image.path`` is relative to the manifest file's folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from benches.inventory.models import Manifest
from benches.rack.fastboot.client import Fastboot, FlashError


class ImageRejected(FlashError):
    """The manifest's image is missing, unnamed or not the file the manifest hashed."""


def shown(path: Path) -> str:
    """A path as people read it: relative to the working folder when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def image_path(manifest: Manifest) -> Path:
    """Where the manifest's image is: `image.path` from the manifest file's folder."""
    if manifest.image is None:
        raise ImageRejected(f"{shown(manifest.path)} names no image to flash (image.path)")
    return manifest.path.parent / manifest.image.path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_image(manifest: Manifest) -> Path:
    """The image's path, once its bytes are the ones the manifest's SHA-256 names."""
    path = image_path(manifest)
    assert manifest.image is not None  # image_path() refused a manifest without one
    expected = manifest.image.sha256.lower()
    try:
        actual = sha256_of(path)
    except FileNotFoundError:
        raise ImageRejected(f"{shown(manifest.path)}: image {shown(path)} does not exist") from None
    except OSError as exc:
        raise ImageRejected(
            f"{shown(manifest.path)}: image {shown(path)} cannot be read: {exc.strerror}"
        ) from None
    if actual != expected:
        raise ImageRejected(
            f"{shown(manifest.path)}: image {shown(path)} has SHA-256 {actual[:12]}..., "
            f"the manifest says {expected[:12]}...: not flashing it"
        )
    return path


def flash_image(manifest: Manifest, fastboot: Fastboot) -> Path:
    """Verify the manifest's image, flash it onto the phone in the bootloader, reboot it.

    Nothing is sent to the phone unless the image's SHA-256 matches. Returns the
    flashed image's path. Raises ``ImageRejected`` or ``FlashError`` (one line).
    """
    path = verify_image(manifest)
    fastboot.update(path, reboot=False)
    fastboot.reboot()
    return path
