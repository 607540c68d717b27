"""Real-rack trouble on the virtual rack: recovery, bench faults, wrong builds, wrong identities.

Each test runs the sign-off suite as QA would (pytest in a subprocess) through
the real adb server, real pty-backed relay boards and the real fastboot binary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benches.inventory import load_manifest
from tests.support.rackfiles import FIXED, relocated_rack, with_faults, with_timings
from tests.support.signoff_run import signoff

pytestmark = pytest.mark.live

FAST = {"boot_timeout_s": 8, "recovery_wait_s": 1}


def outcomes(stdout: str) -> dict[str, str]:
    """{test id: PASSED/FAILED/ERROR} from pytest's -rA short summary and -v lines."""
    found: dict[str, str] = {}
    for status, test in re.findall(r"^(PASSED|FAILED|ERROR) (\S+)", stdout, re.MULTILINE):
        found[test.split("::")[-1]] = status
    return found


def allure_texts(reports: Path) -> str:
    """Every text attachment and status message of the run's Allure results."""
    results = reports / "allure-results"
    texts = [p.read_text(errors="replace") for p in results.glob("*-attachment*")]
    for path in results.glob("*-result.json"):
        texts.append(json.dumps(json.loads(path.read_text()).get("statusDetails", {})))
    return "\n".join(texts)


@pytest.mark.xdist_group("127.37")  # its own rack: side by side with the others
def test_a_hung_phone_is_recovered_by_a_relay_power_cycle_and_a_dead_one_is_a_bench_fault(
    tmp_path: Path,
) -> None:
    devices = relocated_rack(tmp_path, shift=37, adb_port=5177)
    with_timings(devices, **FAST)
    with_faults(
        devices,
        "{serial: SIM7P0001, kind: hang_at_boot, boot: 2}",  # the boot cycle's reboot hangs
        "{serial: SIM7P0002, kind: never_return, boot: 2}",  # ... and this one never comes back
    )
    reports = tmp_path / "reports"

    done = signoff(
        FIXED, devices, reports, args=["testcases/test_boot.py", "testcases/test_unlock.py", "-rA"]
    )

    out = done.stdout
    assert outcomes(out) == {
        "test_boot[SI_1-cycle1]": "PASSED",  # recovered, then the cycle ran again
        "test_boot[SI_2-cycle1]": "FAILED",  # broke during this test
        "test_boot[SI_3-cycle1]": "PASSED",
        "test_unlock[SI_1-cycle1]": "PASSED",
        "test_unlock[SI_2-cycle1]": "ERROR",  # a broken phone's later tests: errors
        "test_unlock[SI_3-cycle1]": "PASSED",
    }, out
    assert "BenchFault: bench fault: SI…2 is broken for the rest of the session" in out
    evidence = allure_texts(reports)
    # SIM7P0001: the chain got as far as the relay, which brought it back.
    assert "recovery of SI…1 after:" in evidence
    assert "[no] reboot over adb" in evidence
    assert "[ok] power-cycle through the relay" in evidence
    # SIM7P0002: every step tried and logged, then marked broken.
    assert "[no] power-cycle through the relay" in evidence
    assert "marked broken for the session" in evidence
    pcaps = {p.name for p in (reports / "pcaps" / "00WW_3_22D").glob("*.pcap")}
    # The interrupted window's capture is kept as evidence next to the retry's.
    assert {"SI_1-boot-1.pcap", "SI_1-boot-1-attempt2.pcap"} <= pcaps
    # Recovery and bench-fault messages name phones by label, never by serial.
    assert "SIM7P000" not in out + evidence


@pytest.mark.xdist_group("127.38")  # its own rack: side by side with the others
def test_a_wrong_build_and_a_misdeclared_imei_stop_only_their_phones(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=38, adb_port=5178)
    with_faults(
        devices,
        '{serial: SIM7P0002, kind: other_imei, imei: ["490154203237518"]}',
        "{serial: SIM7P0003, kind: wrong_build, fingerprint: Nokia/Onyx_00CN/B2N:10/Q/00CN_3_22C}",
    )
    reports = tmp_path / "reports"

    done = signoff(FIXED, devices, reports, args=["testcases/test_boot.py", "-rA"])

    out = done.stdout
    assert outcomes(out) == {
        "test_boot[SI_1-cycle1]": "PASSED",
        "test_boot[SI_2-cycle1]": "FAILED",
        "test_boot[SI_3-cycle1]": "FAILED",
    }, out
    fixed = load_manifest(FIXED)
    assert "SI…3 runs Nokia/Onyx_00CN/B2N:10/Q/00CN_3_22C" in out
    assert f"is for {fixed.fingerprint}: not testing the wrong build" in out
    assert "SI…2: devices.yaml declares IMEI 3520…478" in out
    assert "SIM7P000" not in out
    assert "4901…518" in out  # masked, as everywhere people read
    assert "490154203237518" not in out
    assert "bench misconfiguration" in out


@pytest.mark.xdist_group("127.39")  # its own rack: side by side with the others
def test_flashing_puts_the_manifests_build_on_a_phone_that_ran_another(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=39, adb_port=5179)
    with_faults(
        devices,
        "{serial: SIM7P0003, kind: wrong_build, fingerprint: Nokia/Onyx_00CN/B2N:10/Q/00CN_3_22C}",
    )

    done = signoff(
        FIXED, devices, tmp_path / "reports", args=["testcases/test_boot.py", "--flash", "-rA"]
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert outcomes(done.stdout) == {f"test_boot[SI_{n}-cycle1]": "PASSED" for n in (1, 2, 3)}, (
        done.stdout
    )
