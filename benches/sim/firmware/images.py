"""The virtual rack's firmware images: small zips shaped like a factory image's update zip.

An image holds what ``fastboot update`` needs from a real one:

* ``android-info.txt``: ``require board=BOARD``; the fastboot client checks it
  against the bootloader's ``product`` before it flashes anything;
* ``boot.img``: a placeholder (``fastboot update`` refuses a zip without one);
* ``system.img``: the build's ``build.prop`` as text. A virtual phone learns the
  build it runs from these bytes (``read_build_props``) when they are flashed.

The zips are byte-for-byte reproducible (stored, fixed timestamps and modes), so
the SHA-256 in a manifest stays valid wherever they are rebuilt. Regenerate the
committed ones with ``python -m benches.sim.firmware.images`` (it prints their SHA-256).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

from benches.inventory import InventoryError, load_manifest

BOARD = "B2N_sprout"  # the Nokia 7 plus's board, which its bootloader reports as `product`
ZIP_TIME = (2019, 3, 1, 0, 0, 0)  # any fixed date: zip entries would otherwise carry "now"
ENTRY_MODE = 0o100644 << 16  # a regular rw-r--r-- file, in the zip's Unix attribute field


def build_props(build: str, fingerprint: str, board: str) -> str:
    """The build.prop text the virtual system image carries."""
    return (
        "# begin build properties\n"
        f"ro.build.display.id={build}\n"
        f"ro.build.fingerprint={fingerprint}\n"
        f"ro.product.device={board}\n"
        "# end build properties\n"
    )


def image_bytes(build: str, fingerprint: str, board: str = BOARD) -> bytes:
    """The zip's bytes: the same arguments always give the same bytes."""
    entries = {
        "android-info.txt": f"require board={board}\n".encode(),
        "boot.img": f"ANDROID!virtual boot image of {build}\n".encode(),
        "system.img": build_props(build, fingerprint, board).encode(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # Unix, whatever OS builds it
            info.external_attr = ENTRY_MODE
            archive.writestr(info, data)
    return buffer.getvalue()


def build_image(path: Path, build: str, fingerprint: str, board: str = BOARD) -> str:
    """Write the image for one build to `path`; returns its SHA-256 (hex)."""
    data = image_bytes(build, fingerprint, board)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read_build_props(system_image: bytes) -> dict[str, str]:
    """The key=value lines of a virtual system image; {} for anything else."""
    try:
        text = system_image.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    props: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            props[key.strip()] = value.strip()
    return props


def regenerate(firmware_dir: Path) -> list[tuple[Path, str]]:
    """Rebuild the image of every manifest in `firmware_dir` that names one."""
    written = []
    for manifest_path in sorted(firmware_dir.glob("*.yaml")):
        manifest = load_manifest(manifest_path)
        if manifest.image is None:
            continue
        target = manifest_path.parent / manifest.image.path
        home = manifest_path.parent.resolve()
        if not target.parent.resolve().is_relative_to(home) or target.is_symlink():
            message = (
                f"{manifest.image.path} is not a file in the manifest's folder or below "
                f"({home}); not writing it"
            )
            raise InventoryError(str(manifest_path), message, key="image.path")
        written.append((target, build_image(target, manifest.build, manifest.fingerprint)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benches.sim.firmware.images",
        description="Rebuild the virtual rack's firmware images named by the manifests.",
    )
    parser.add_argument("firmware_dir", nargs="?", default="firmware", type=Path)
    args = parser.parse_args(argv)
    try:
        written = regenerate(args.firmware_dir)
    except (InventoryError, OSError) as exc:
        print(f"images: error: {exc}", file=sys.stderr)
        return 2
    for path, digest in written:
        print(f"{digest}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
