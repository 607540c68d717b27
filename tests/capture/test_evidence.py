"""Evidence file names: one function names every file a cycle's window leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.capture.evidence import evidence_path
from benches.capture.gateway import Gateway
from benches.inventory.models import Device, Identity, Network
from benches.redaction.masks import SHOW_IDENTIFIERS_ENV


@pytest.fixture(autouse=True)
def masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHOW_IDENTIFIERS_ENV, raising=False)


def test_a_file_is_named_by_the_phones_label_the_window_and_what_it_is(tmp_path: Path) -> None:
    assert evidence_path(tmp_path, "SIM7P0001", "boot-2", "pcap") == tmp_path / "SI_1-boot-2.pcap"
    assert evidence_path(tmp_path, "SIM7P0001", "boot-2-attempt2", "console.txt") == (
        tmp_path / "SI_1-boot-2-attempt2.console.txt"
    )
    # Whatever a window is called, the name stays one safe path component.
    assert evidence_path(tmp_path, "SIM7P0001", "odd/window 1", "logcat.txt").name == (
        "SI_1-odd_window_1.logcat.txt"
    )


def test_the_serial_never_names_a_file_unless_identifiers_are_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "SIM7P0001" not in evidence_path(tmp_path, "SIM7P0001", "idle-1", "pcap").name
    monkeypatch.setenv(SHOW_IDENTIFIERS_ENV, "1")
    assert evidence_path(tmp_path, "SIM7P0001", "idle-1", "pcap").name == "SIM7P0001-idle-1.pcap"


def test_the_gateway_names_its_pcaps_with_it(tmp_path: Path) -> None:
    device = Device("SIM7P0002", "TA-1046", Network(ipv4="127.0.2.222"), Identity(imei=()))
    capture = Gateway("lo", tmp_path).capture(device, "unlock-3")
    assert capture.pcap == evidence_path(tmp_path, "SIM7P0002", "unlock-3", "pcap")
    assert capture.pcap.name == "SI_2-unlock-3.pcap"
