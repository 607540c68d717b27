"""The whole bench on the virtual rack: sign-off runs, and the fail-closed cases."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benches.analysis.attribution.geo import GeoDatabase
from benches.capture.gateway import Gateway
from benches.cycles import CycleRecord, run_boot_cycle
from benches.inventory import load_rack
from benches.policy.judge import judge_cycle
from benches.rack.session import BenchSession
from tests.support.caps import drop_net_raw
from tests.support.rackfiles import FIXED, LEAKY, REPO, relocated_rack, virtual_bench
from tests.support.signoff_run import signoff


@pytest.mark.live
@pytest.mark.xdist_group("127.31")  # its own rack: side by side with the others
def test_leaky_build_fails_naming_the_2019_leak(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=31, adb_port=5171)
    done = signoff(LEAKY, devices, tmp_path / "reports")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    # The 2019 client fires at power-on, unlock and activation; idle stays quiet.
    assert "9 failed, 3 passed" in out
    for phrase in ("IMEI 3520…", "ICCID 8935…", "serial SI…", "location 60…"):
        assert f"{phrase}" in out
    assert "in cleartext to zfhmd.vnet.cn (127.31.86.10, CN, Chinanet)" in out
    for kind in ("boot", "unlock", "activation"):
        for n in (1, 2, 3):
            assert f"FAILED testcases/test_{kind}.py::test_{kind}[SI_{n}-cycle1]" in out
    # Each leak is placed on its cycle's timeline, after the event that set it off.
    assert re.search(r"SI_1-boot-1\.pcap \(\d+\.\d s after (power button|adb came online)\)", out)
    after_reboot = r"(reboot|adb went offline|adb came online)"
    assert re.search(rf"SI_3-boot-1\.pcap \(\d+\.\d s after {after_reboot}\)", out)
    assert re.search(r"SI_2-unlock-1\.pcap \(\d+\.\d s after unlock\)", out)
    assert re.search(r"SI_2-activation-1\.pcap \(\d+\.\d s after provisioned\)", out)
    # The console is for people: no raw identifier in it.
    rack = load_rack(devices)
    for device in rack.devices:
        assert device.identity.imei[0] not in out
        assert device.identity.iccid not in out
        assert device.serial not in out  # phones go by their labels: SI…1, SI_1


@pytest.mark.live
@pytest.mark.xdist_group("127.32")  # its own rack: side by side with the others
def test_fixed_build_passes_and_leaves_evidence(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=32, adb_port=5172)
    reports = tmp_path / "reports"
    done = signoff(FIXED, devices, reports)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 passed" in done.stdout
    pcaps = sorted((reports / "pcaps" / "00WW_3_22D").glob("*.pcap"))
    kinds = ("activation", "boot", "idle", "unlock")
    assert [p.name for p in pcaps] == [f"SI_{n}-{kind}-1.pcap" for n in (1, 2, 3) for kind in kinds]
    # Evidence is for the bench's people only: pcaps and consoles are owner-only.
    consoles = sorted((reports / "pcaps" / "00WW_3_22D").glob("*.console.txt"))
    assert [p.name for p in consoles] == [
        f"SI_{n}-{kind}-1.console.txt" for n in (1, 2) for kind in kinds
    ]  # SIM7P0003 has no console in devices.yaml
    logcats = sorted((reports / "pcaps" / "00WW_3_22D").glob("*.logcat.txt"))
    assert [p.name for p in logcats] == [
        f"SI_{n}-{kind}-1.logcat.txt" for n in (1, 2, 3) for kind in kinds
    ]
    assert (
        "BOOT_COMPLETED"
        in (reports / "pcaps" / "00WW_3_22D" / "SI_3-boot-1.logcat.txt").read_text()
    )
    assert all(p.stat().st_mode & 0o077 == 0 for p in pcaps + consoles + logcats)
    results = [
        json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")
    ]
    assert len(results) == 12 and {r["status"] for r in results} == {"passed"}
    attachment_types = {
        a["type"] for r in results for step in r["steps"] for a in step.get("attachments", [])
    }
    assert "application/vnd.tcpdump.pcap" in attachment_types
    assert "text/html" in attachment_types
    names = {a["name"] for r in results for step in r["steps"] for a in step.get("attachments", [])}
    assert {"logcat", "serial console", "timeline", "findings", "flows"} <= names
    # One Allure step per phase of the cycle, inside the cycle's step.
    boot = next(r for r in results if r["name"].startswith("test_boot"))
    phases = [step["name"] for step in boot["steps"][0]["steps"]]
    assert any("boot completed" in name for name in phases), phases


# live: only root may drop CAP_NET_RAW from the child's bounding set (CAP_SETPCAP)
@pytest.mark.live
@pytest.mark.xdist_group("127.33")  # its own rack: side by side with the others
def test_signoff_without_capture_permission_stops_with_how_to_grant_it(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=33, adb_port=5173)
    done = signoff(FIXED, devices, tmp_path / "reports", preexec_fn=drop_net_raw)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "needs CAP_NET_RAW" in done.stderr and "setcap" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_signoff_needs_a_manifest(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "testcases", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "the sign-off suite needs --firmware" in done.stderr


def test_signoff_with_a_bad_rack_file_names_file_line_and_key(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=34, adb_port=5174)
    devices.write_text(devices.read_text().replace("352098100123478", "352098100123479"))
    done = signoff(FIXED, devices, tmp_path / "reports")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    error = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert len(error) == 1
    assert "devices.yaml:" in error[0] and "identity.imei[0]" in error[0] and "Luhn" in error[0]


# In-process: the cases where the bench must not claim a pass.


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    with virtual_bench(tmp_path_factory.mktemp("bench"), 35, 5175, FIXED) as session:
        yield session


def _judge(bench: BenchSession, record: CycleRecord) -> tuple[str, str]:
    geo = GeoDatabase.for_rack(bench.rack)
    result = judge_cycle(record, bench.rack, bench.manifest, geo)
    return result.verdict.outcome, result.summary()


def _sniffer_pid(pcap: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"benches.capture.sniffer" in cmdline and str(pcap).encode() in cmdline:
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError(f"no sniffer writing {pcap}")


@pytest.mark.live
def test_a_fixed_build_cycle_passes_in_process(bench: BenchSession, tmp_path: Path) -> None:
    """The control: the same session gives pass when nothing is wrong."""
    phone = bench.phones["SIM7P0001"]
    record = run_boot_cycle(phone, Gateway("lo", tmp_path), bench.rack.bench.timings, 1)
    verdict, summary = _judge(bench, record)
    assert verdict == "pass", summary


@pytest.mark.live
def test_capture_killed_mid_cycle_is_inconclusive(bench: BenchSession, tmp_path: Path) -> None:
    phone = bench.phones["SIM7P0002"]
    gateway = Gateway("lo", tmp_path)
    records: list[CycleRecord] = []
    cycle = threading.Thread(
        target=lambda: records.append(run_boot_cycle(phone, gateway, bench.rack.bench.timings, 1))
    )
    cycle.start()
    pid = _sniffer_pid(tmp_path / "SI_2-boot-1.pcap")
    time.sleep(0.5)  # mid-window: the phone is rebooting
    os.kill(pid, signal.SIGKILL)
    cycle.join(timeout=120)
    verdict, summary = _judge(bench, records[0])
    assert verdict == "inconclusive", summary
    assert "capture died" in summary and "signal 9" in summary


@pytest.mark.live
def test_capture_that_never_sees_the_canary_is_inconclusive(
    bench: BenchSession, tmp_path: Path
) -> None:
    """A phone whose lookups never cross the gateway: the bench is blind to it."""
    phone = bench.phones["SIM7P0003"]
    phone.shell(["svc", "wifi", "disable"])
    phone.shell(["svc", "data", "disable"])
    try:
        record = run_boot_cycle(phone, Gateway("lo", tmp_path), bench.rack.bench.timings, 1)
    finally:
        phone.shell(["svc", "wifi", "enable"])
    verdict, summary = _judge(bench, record)
    assert verdict == "inconclusive", summary
    for canary in record.canaries:
        assert canary in summary


@pytest.mark.live
@pytest.mark.xdist_group("127.36")  # its own rack: side by side with the others
def test_bench_signoff_says_go_and_no_go_per_build(tmp_path: Path) -> None:
    devices = relocated_rack(tmp_path, shift=36, adb_port=5176)
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "benches", "signoff", "--devices", str(devices),
         "--firmware", str(FIXED), "--firmware", str(LEAKY), "--reports", str(reports)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    summary = done.stdout.split("=== sign-off summary ===")[1]
    lines = [line.split() for line in summary.splitlines() if " build " in line]
    assert [(words[0], words[2]) for words in lines] == [
        ("GO", "00WW_3_22D"),
        ("NO-GO", "00WW_3_22C"),
    ]
    assert "(12 pass, 0 fail, 0 inconclusive of 12 cycles)" in summary
    assert "(3 pass, 9 fail, 0 inconclusive of 12 cycles)" in summary
    assert str(reports / "allure-results") in summary


def test_bench_signoff_rejects_a_bad_manifest_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benches", "signoff", "--firmware", str(tmp_path / "nope.yaml")],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == f"bench: error: {tmp_path / 'nope.yaml'}: file not found"


def test_signoff_with_an_unknown_virtual_behaviour_stops_in_one_line(tmp_path: Path) -> None:
    manifest = tmp_path / "odd.yaml"
    manifest.write_text(FIXED.read_text().replace("vendor_update_tls]", "vendor_update_tls, nope]"))
    done = signoff(manifest, REPO / "devices.yaml", tmp_path / "reports")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        f"ERROR: {manifest}: virtual.behaviours: unknown behaviour 'nope' "
        "(known: cn_activation_client, connectivity_check, partner_analytics, vendor_update_tls)"
    ]


def test_bench_signoff_rejects_no_workers_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benches", "signoff", "--workers", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "bench: error: --workers must be at least 1, not 0"
