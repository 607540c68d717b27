"""The sign-off suite with a pytest-xdist worker per phone (`pytest testcases -n N`).

Each run is a real sign-off in a subprocess, on a virtual rack of many phones
(tests/support/many_phones.py) on its own loopback range and adb port.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from benches.inventory import load_rack
from benches.redaction.masks import DeviceLabel, device_labels
from tests.support.many_phones import many_phones_rack
from tests.support.paths import REPO
from tests.support.rackfiles import FIXED, LEAKY, with_faults, with_timings
from tests.support.signoff_run import signoff

BUILD_FIXED = "00WW_3_22D"
KINDS = ("boot", "unlock", "activation", "idle")

# Killed by a test-controlled trigger: a conftest.py beside the suite's own tests that
# SIGKILLs the worker running one phone's unlock cycle, before the cycle starts.
KILLER_CONFTEST = """
import os
import signal

import pytest


@pytest.fixture(autouse=True)
def _kill_the_worker(request):
    nodeid = request.node.nodeid
    if f"[{os.environ['KILL_PHONE']}-" in nodeid and "test_unlock" in nodeid:
        os.kill(os.getpid(), signal.SIGKILL)
"""


def _labels(devices: Path) -> list[str]:
    """The phones' labels as test ids show them ("VR_9")."""
    return [label.safe for label in _device_labels(devices).values()]


def _device_labels(devices: Path) -> dict[str, DeviceLabel]:
    serials = [device.serial for device in load_rack(devices).devices]
    return {label.safe: label for label in device_labels(serials).values()}


def _verdicts(reports: Path, build: str) -> list[dict[str, object]]:
    text = (reports / "verdicts" / f"{build}.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _passed(out: str, label: str) -> list[str]:
    """The cycle kinds of `label`'s tests that passed, in the order ``-v`` printed them."""
    return re.findall(
        rf"\[gw\d+\] \[\s*\d+%\] PASSED \S*test_(\w+)\.py::\w+\[{label}-cycle1\]",
        out,
    )


def _summary(reports: Path, build: str) -> dict[str, object]:
    return json.loads((reports / "signoff" / build / "summary.json").read_text())


@pytest.mark.live
def test_eight_phones_in_parallel_pass_the_fixed_build_with_whole_results(tmp_path: Path) -> None:
    devices = many_phones_rack(tmp_path, 8, shift=140, adb_port=5440)
    reports = tmp_path / "reports"
    done = signoff(FIXED, devices, reports, ["testcases", "-n", "8", "-v"])
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "32 passed" in done.stdout, out
    labels = _labels(devices)
    # One verdict line per cycle, each whole, none twice.
    verdicts = _verdicts(reports, BUILD_FIXED)
    cells = sorted((str(v["device"]), str(v["cycle"])) for v in verdicts)
    assert len(cells) == 32 and len(set(cells)) == 32
    assert {v["verdict"] for v in verdicts} == {"pass"}
    # Every phone's cycles ran in the fixed order on one worker; pcaps for each.
    for label in labels:
        pcaps = sorted((reports / "pcaps" / BUILD_FIXED).glob(f"{label}-*.pcap"))
        assert len(pcaps) == 4, label
        assert _passed(out, label) == list(KINDS), (label, out)
        workers = re.findall(rf"\[(gw\d+)\] \[\s*\d+%\] PASSED \S+\[{label}-cycle1\]", out)
        assert len(set(workers)) == 1, (label, workers)
    # The groups are the phones' masked labels, never their serials.
    assert "VR001X7919" not in out
    # The summary is written once, by the controller, and says GO for all 32 cycles.
    assert out.count("sign-off summary: GO") == 1, out
    assert _summary(reports, BUILD_FIXED)["decision"] == "GO"
    # A progress line per finished cycle, from the controller.
    progress = re.findall(r"^bench: \[(\d+)/32\] (\S+) (\w+) cycle 1 passed", out, re.M)
    assert sorted(int(n) for n, _, _ in progress) == list(range(1, 33)), out
    assert len({phone for _, phone, _ in progress}) == 8
    # Allure: one result per test, and the build's traffic chart once.
    results = [
        json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")
    ]
    assert len(results) == 32 and {r["status"] for r in results} == {"passed"}
    containers = [
        json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-container.json")
    ]
    charts = [
        after
        for container in containers
        for after in container.get("afters", [])
        if after["name"].startswith("signoff_build_chart")
        and any(a["name"] == "where the traffic went" for a in after.get("attachments", []))
    ]
    assert len(charts) == 1


@pytest.mark.live
def test_the_leaky_build_fails_on_every_phone_in_parallel(tmp_path: Path) -> None:
    devices = many_phones_rack(tmp_path, 6, shift=141, adb_port=5441)
    reports = tmp_path / "reports"
    done = signoff(LEAKY, devices, reports, ["testcases/test_activation.py", "-n", "6"])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "6 failed" in done.stdout
    build = next((reports / "verdicts").glob("*.jsonl")).stem
    assert {(v["device"], v["verdict"]) for v in _verdicts(reports, build)} == {
        (v["device"], "fail") for v in _verdicts(reports, build)
    }
    assert len(_verdicts(reports, build)) == 6


@pytest.mark.live
def test_a_killed_worker_and_a_phone_that_never_returns_stay_local(tmp_path: Path) -> None:
    devices = many_phones_rack(tmp_path, 8, shift=142, adb_port=5442)
    labels = _labels(devices)
    killed, gone = labels[2], labels[5]
    serials = re.findall(r"- serial: (\S+)", devices.read_text())
    # The sixth phone's second boot (its boot cycle's power cycle) never comes back.
    with_faults(devices, f"{{serial: {serials[5]}, kind: never_return, boot: 2}}")
    with_timings(devices, boot_timeout_s=8, recovery_wait_s=1)
    suite = tmp_path / "testcases"
    shutil.copytree(REPO / "testcases", suite)
    (suite / "conftest.py").write_text(KILLER_CONFTEST)
    reports = tmp_path / "reports"
    done = signoff(
        FIXED,
        devices,
        reports,
        [str(suite), "-n", "8", "-v", "-rA"],
        env={**os.environ, "KILL_PHONE": killed},
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out  # failed tests; the build is not GO
    verdicts = _verdicts(reports, BUILD_FIXED)
    by_phone: dict[str, list[str]] = {}
    for verdict in verdicts:
        by_phone.setdefault(str(verdict["device"]), []).append(str(verdict["verdict"]))
    # The six other phones: every cycle passed, as if alone.
    others = [label for label in labels if label not in (killed, gone)]
    assert len(verdicts) == 6 * 4 + 1, out  # and the killed phone's boot, before it died
    text = {safe: label.text for safe, label in _device_labels(devices).items()}
    for label in others:
        assert _passed(out, label) == list(KINDS), (label, out)
        assert by_phone[text[label]] == ["pass"] * 4
    # The killed worker's phone: boot passed, unlock crashed, the rest bench faults.
    assert _passed(out, killed) == ["boot"], out
    assert re.search(rf"bench fault: phone {killed}: worker 'gw\d+' crashed", out), out
    for kind in ("activation", "idle"):  # the short summary cuts the message: the body has it
        assert re.search(rf"ERROR \S*test_{kind}\[{killed}-cycle1\]", out), (kind, out)
    faults = re.findall(rf"bench fault: phone {killed}: its worker gw\d+ died while running", out)
    assert len(faults) >= 2, out
    # The phone that never returned: none of its cycles passed, nobody else's suffered.
    assert _passed(out, gone) == [], out
    assert text[gone] not in by_phone
    summary = _summary(reports, BUILD_FIXED)
    assert summary["decision"] == "NO-GO (inconclusive)", summary  # missing cycles, no fail
