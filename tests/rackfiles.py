"""Rack files for tests that start their own virtual rack.

They are the shipped devices.yaml moved onto other loopback addresses and
another adb port, so a test's rack never collides with a sign-off run (or
another test) using the shipped one.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED_RACK = REPO / "devices.yaml"
LEAKY = REPO / "firmware" / "ta1046-global-LEAKY-with-cn-activation.yaml"
FIXED = REPO / "firmware" / "ta1046-global-FIXED.yaml"


def relocated_rack(directory: Path, shift: int, adb_port: int) -> Path:
    """devices.yaml with the phones and endpoints moved from 127.0.X.Y to 127.<shift>.X.Y.

    127.0.0.1 (the adb server) stays: adb treats any other host as remote.
    """
    text = re.sub(r"127\.0\.(?!0\.)", f"127.{shift}.", SHIPPED_RACK.read_text())
    text = text.replace("port: 5137", f"port: {adb_port}")
    path = directory / "devices.yaml"
    path.write_text(text)
    return path
