"""`python -m benches.sim.firmware.images` rebuilds the committed firmware images byte for byte."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO


def test_the_module_rebuilds_the_committed_zips(tmp_path: Path) -> None:
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    for manifest in (REPO / "firmware").glob("*.yaml"):
        shutil.copy(manifest, firmware / manifest.name)
    done = subprocess.run(
        [sys.executable, "-m", "benches.sim.firmware.images", str(firmware)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = dict(line.split("  ", 1)[::-1] for line in done.stdout.splitlines())
    committed = sorted((REPO / "firmware" / "images").glob("*.zip"))
    assert len(committed) == len(printed) == 2
    for zip_path in committed:
        rebuilt = firmware / "images" / zip_path.name
        assert rebuilt.read_bytes() == zip_path.read_bytes()
        assert printed[str(rebuilt)] == hashlib.sha256(zip_path.read_bytes()).hexdigest()


def test_a_broken_manifest_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "X.yaml").write_text("build: [\n")
    done = subprocess.run(
        [sys.executable, "-m", "benches.sim.firmware.images", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("images: error: ") and done.stderr.count("\n") == 1


def test_an_image_path_out_of_the_manifest_folder_is_not_written(tmp_path: Path) -> None:
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    text = (REPO / "firmware" / "ta1046-global-FIXED.yaml").read_text()
    escaped = text.replace("path: images/00WW_3_22D.zip", "path: ../outside.zip")
    assert escaped != text
    (firmware / "rc.yaml").write_text(escaped)
    done = subprocess.run(
        [sys.executable, "-m", "benches.sim.firmware.images", str(firmware)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "image.path: ../outside.zip is not a file in the manifest's folder" in done.stderr
    assert not (tmp_path / "outside.zip").exists()
