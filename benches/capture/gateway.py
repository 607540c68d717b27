"""The gateway the phones' traffic crosses, and where each cycle's evidence goes."""

from __future__ import annotations

from pathlib import Path

from benches.capture.evidence import evidence_path
from benches.capture.interception.session import InterceptionSession
from benches.capture.process import Capture
from benches.inventory.models import Device


class Gateway:
    def __init__(
        self, interface: str, pcap_dir: Path, interception: InterceptionSession | None = None
    ) -> None:
        self.interface = interface
        self.pcap_dir = pcap_dir  # every window's evidence: pcaps, consoles, logcats
        # The TLS interceptor the phones' traffic crosses (None: no interception).
        self.interception = interception

    def capture(self, device: Device, window: str) -> Capture:
        """A capture of `device`'s addresses and MAC for one window (`boot-2`), not yet started.

        The file is named by the phone's label (`SI_1-boot-2.pcap`), not its serial.
        """
        pcap = evidence_path(self.pcap_dir, device.serial, window, "pcap")
        macs = (device.network.mac,) if device.network.mac else ()
        return Capture(self.interface, device.network.addresses, pcap, macs)
