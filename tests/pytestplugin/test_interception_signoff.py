"""Issue 15's sign-offs, as QA runs them: the TLS-analytics build is NO-GO inside TLS, and
interception leaves the fixed build GO and the 2019 build NO-GO."""

from __future__ import annotations

from pathlib import Path

import pytest

from benches.inventory import load_rack
from tests.support.rackfiles import FIXED, LEAKY, REPO, relocated_rack
from tests.support.signoff_run import signoff

TLS_ANALYTICS = REPO / "firmware" / "ta1046-global-TLS-analytics.yaml"
BOOT = ["testcases/test_boot.py"]


@pytest.mark.live
@pytest.mark.xdist_group("127.158")  # its own rack: side by side with the others
def test_the_tls_analytics_build_fails_naming_the_imei_inside_tls(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=158, adb_port=5458)
    reports = tmp_path / "reports"
    done = signoff(TLS_ANALYTICS, devices, reports, BOOT)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    # SI_1 (Android 10) and SI_3 (Android 11) keep the CA across the reboot: the POST is
    # read inside TLS. SI_2 runs Android 15, whose CA mount a reboot removes: its boot
    # traffic before the bench mounts it again is opaque, so its cycle is inconclusive.
    for n in (1, 3):
        assert f"FAILED testcases/test_boot.py::test_boot[SI_{n}-cycle1]" in out
        assert "sent inside TLS to analytics.partner.example (127.158.46.10, IE" in out
    assert "not an identifier recipient (imei-15, tls+h2+gzip+plain)" in out
    assert "IMEI 3520…" in out
    assert "refused the interceptor's certificate" in out  # the pinned config fetch
    assert "sign-off summary: NO-GO" in out
    # Each cycle keeps the interceptor's flow file and key log beside its pcap, owner-only.
    pcaps = reports / "pcaps" / "00WW_3_22E"
    for suffix in (".flows", ".keylog", ".intercepted.jsonl", ".interception.json"):
        path = pcaps / f"SI_1-boot-1{suffix}"
        assert path.stat().st_size > 0, path
        assert path.stat().st_mode & 0o777 == 0o600, path
    rack = load_rack(devices)
    for device in rack.devices:
        assert device.identity.imei[0] not in out  # masked for people


@pytest.mark.live
@pytest.mark.xdist_group("127.159")  # its own rack: side by side with the others
def test_interception_keeps_the_fixed_build_go_and_the_2019_build_no_go(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=159, adb_port=5459)
    on = BOOT + ["--interception", "required"]
    fixed = signoff(FIXED, devices, tmp_path / "fixed", on)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "3 passed" in fixed.stdout
    assert "sign-off summary: GO" in fixed.stdout
    assert list((tmp_path / "fixed" / "pcaps" / "00WW_3_22D").glob("*.intercepted.jsonl"))
    leaky = signoff(LEAKY, devices, tmp_path / "leaky", on)
    assert leaky.returncode == 1, leaky.stdout + leaky.stderr
    assert "3 failed" in leaky.stdout
    assert "in cleartext to zfhmd.vnet.cn (127.159.86.10, CN, Chinanet)" in leaky.stdout
