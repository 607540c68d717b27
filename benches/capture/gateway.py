"""The gateway the phones' traffic crosses, and where each cycle's pcap goes."""

from __future__ import annotations

import re
from pathlib import Path

from benches.capture.process import Capture
from benches.inventory.models import Device
from benches.redaction.masks import device_file_label


class Gateway:
    def __init__(self, interface: str, pcap_dir: Path) -> None:
        self.interface = interface
        self.pcap_dir = pcap_dir

    def capture(self, device: Device, window: str) -> Capture:
        """A capture of `device`'s addresses for one window (e.g. `boot-2`), not yet started.

        The file is named by the phone's label (`SI_1-boot-2.pcap`), not its serial.
        """
        name = _safe_name(f"{device_file_label(device.serial)}-{window}")
        return Capture(self.interface, device.network.addresses, self.pcap_dir / f"{name}.pcap")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)
