"""The command-line tools some tests drive (tshark, nft, openssl), which `./run test` installs."""

from __future__ import annotations

import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    """The tool's path. Missing: a failure with the fix, never a skip that hides it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install {package} (./run test installs it)")
    return path
