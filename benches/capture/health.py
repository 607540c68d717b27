"""What the capture itself says about how much of the traffic it saw."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaptureHealth:
    packets: int  # packets the capture wrote to the pcap
    kernel_drops: int  # packets the kernel dropped before the capture read them
    died: bool  # the capture process ended before the window closed
    error: str | None = None  # why it died, when it said so

    @property
    def problems(self) -> list[str]:
        """Reasons this capture cannot back a pass; empty when it is sound."""
        reasons = []
        if self.died:
            reasons.append(f"capture died mid-window ({self.error or 'no reason given'})")
        if self.kernel_drops:
            reasons.append(f"kernel dropped {self.kernel_drops} packets")
        return reasons
