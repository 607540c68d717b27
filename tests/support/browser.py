"""Headless Debian Chromium through Playwright, the way the tests drive it.

Nothing is downloaded: Playwright drives /usr/bin/chromium (`./run test`
installs it). A missing browser or Playwright fails the test with the fix,
never a skip that would hide it in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium as root, on a machine with no network but loopback: no sandbox,
# no GPU, and none of the background connections it would try at start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page(profile: Path, width: int, height: int) -> Iterator[Any]:
    """A Playwright page in a fresh headless Chromium profile, closed afterwards."""
    if not CHROMIUM.is_file():
        pytest.fail(f"no {CHROMIUM}: apt-get install chromium (./run test installs it)")
    try:
        from playwright import sync_api
    except ImportError:
        pytest.fail("no Python playwright: pip install -e '.[test]' (./run test installs it)")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        try:
            yield context.new_page()
        finally:
            context.close()
