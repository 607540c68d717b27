"""The sniffer's pcap writer, run as root, must not write through a link left at its path."""

from __future__ import annotations

import stat
from pathlib import Path

from benches.capture.sniffer import PcapWriter


def test_a_link_at_the_pcap_path_is_replaced_and_its_target_untouched(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$hash\n")
    secret.chmod(0o644)
    pcap = tmp_path / "pcaps" / "SI_1-boot-1.pcap"
    pcap.parent.mkdir()
    pcap.symlink_to(secret)
    writer = PcapWriter(pcap)
    writer.write(1_700_000_000.0, b"\x00" * 60)
    writer.close()
    assert secret.read_text() == "root:$6$hash\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o644
    assert not pcap.is_symlink() and pcap.stat().st_size == 24 + 16 + 60
    assert stat.S_IMODE(pcap.stat().st_mode) == 0o600
