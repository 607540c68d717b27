"""Which framework judged a run: the installed version of benches and its git commit.

The Allure environment and the sign-off summary's evidence both name them.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path


def framework_version() -> str:
    try:
        return metadata.version("benches")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_commit(places: tuple[Path, ...] | None = None) -> str:
    """The commit of the framework's checkout (else the working directory's), or "unknown"."""
    for place in places or (Path(__file__).resolve().parent, Path.cwd()):
        commit = _git(place, "rev-parse", "HEAD")
        if commit:
            changed = _git(place, "status", "--porcelain", "--untracked-files=no")
            return f"{commit} (with uncommitted changes)" if changed else commit
    return "unknown"


def _git(place: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(place), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
