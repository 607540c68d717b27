"""The sign-off suite in a subprocess, as QA runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.rackfiles import REPO


def signoff(
    firmware: Path,
    devices: Path,
    reports: Path,
    args: list[str] | None = None,
    **kwargs: object,
) -> subprocess.CompletedProcess[str]:
    """The sign-off suite in a subprocess, as QA runs it; `args` replaces `testcases`."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(args or ["testcases"]),
        "-p",
        "no:cacheprovider",
        "--firmware",
        str(firmware),
        "--devices",
        str(devices),
        "--reports",
        str(reports),
    ]
    return subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
