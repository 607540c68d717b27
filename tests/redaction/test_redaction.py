"""Identifiers masked wherever people read them; raw only in pcaps, or on the auditor's switch.

The acceptance test runs a leaky sign-off on the virtual rack (127.101.0.0/16,
adb port 5241), renders its Allure report with the real CLI, and searches every
file under reports/ for the rack's raw identifiers.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from allure_commons import model2
from hypothesis import given
from hypothesis import strategies as st

from benches.capture.gateway import Gateway
from benches.cycles import CycleRecord
from benches.inventory import load_rack
from benches.inventory.models import Rack
from benches.pytestplugin.masking import scrub_model, scrub_repr
from benches.redaction import log_records as log_masking
from benches.redaction.masks import (
    RAW_WARNING,
    SHOW_IDENTIFIERS_ENV,
    device_file_label,
    device_label,
    device_labels,
    mask,
)
from benches.redaction.rack_masker import (
    forget_rack,
    mac_forms,
    scrub_exception,
    scrub_text,
    use_rack,
)
from benches.report.allure.generator import generate_report
from tests.support.allure_tools import require_allure
from tests.support.analyzecli import rack_files
from tests.support.pcaps import leaky_boot, write_pcap
from tests.support.rackfiles import LEAKY, REPO, SHIPPED_RACK, relocated_rack
from tests.support.signoff_run import signoff

SHIFT, ADB_PORT = 101, 5241  # this file's loopback range and adb port
PCAP_MAGICS = {
    bytes.fromhex(magic)
    for magic in ("d4c3b2a1", "a1b2c3d4", "4d3cb2a1", "a1b23c4d", "0a0d0d0a")  # pcap(ng)
}


@pytest.fixture
def masked_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHOW_IDENTIFIERS_ENV, raising=False)


@pytest.fixture
def shipped_rack(masked_env: None) -> Iterator[Rack]:
    """The shipped rack in use (labels, log masking) for one test, then forgotten."""
    rack = load_rack(SHIPPED_RACK)
    use_rack(rack)
    try:
        yield rack
    finally:
        forget_rack()


def raw_values(rack: Rack) -> dict[str, str]:
    """Every identifier of the rack as someone could find it in a file: {value: what it is}."""
    values: dict[str, str] = {}
    for device in rack.devices:
        identity = device.identity
        values[device.serial] = "devices[].serial"
        values.update({imei: "IMEI" for imei in identity.imei})
        for kind, value in (("ICCID", identity.iccid), ("IMSI", identity.imsi)):
            if value:
                values[value] = kind
        if identity.serial:
            values[identity.serial] = "identity.serial"
        for mac in (identity.wifi_mac, device.network.mac):
            if mac:
                colon, _dash, plain = mac_forms(mac)
                values[colon], values[plain] = "Wi-Fi MAC", "Wi-Fi MAC (plain)"
    return values


def is_pcap(path: Path) -> bool:
    with path.open("rb") as data:
        return data.read(4) in PCAP_MAGICS


def raw_identifiers_in(root: Path, values: dict[str, str]) -> list[str]:
    """`file: what` for every raw identifier in any file under `root` but the pcaps."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if is_pcap(path):
            continue
        data = path.read_bytes().lower()
        found += [
            f"{path.relative_to(root)}: {what} {value}"
            for value, what in values.items()
            if value.lower().encode() in data
        ]
    return found


# --- values, labels, the switch ------------------------------------------------


def test_masks_by_default_and_shows_raw_only_on_the_switch(
    monkeypatch: pytest.MonkeyPatch, masked_env: None
) -> None:
    assert mask("352098100123452") == "3520…452"
    assert (device_label("SIM7P0001"), device_file_label("SIM7P0001")) == ("SI…1", "SI_1")
    monkeypatch.setenv(SHOW_IDENTIFIERS_ENV, "1")
    assert mask("352098100123452") == "352098100123452"
    assert (device_label("SIM7P0001"), device_file_label("SIM7P0001")) == (
        "SIM7P0001",
        "SIM7P0001",
    )
    monkeypatch.setenv(SHOW_IDENTIFIERS_ENV, "0")
    assert mask("352098100123452") == "3520…452"


def test_phones_whose_masks_collide_get_their_place_in_devices_yaml(masked_env: None) -> None:
    labels = device_labels(["SIM7P0001", "SIM7P0002", "SIM7P0011"])
    assert [(label.text, label.safe) for label in labels.values()] == [
        ("SI…1#1", "SI_1_1"),
        ("SI…2", "SI_2"),
        ("SI…1#3", "SI_1_3"),
    ]


serial_words = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=14
)


@given(serials=st.lists(serial_words, min_size=1, max_size=12, unique=True), raw=st.booleans())
def test_labels_are_unique_and_file_safe(serials: list[str], raw: bool) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SHOW_IDENTIFIERS_ENV, "1" if raw else "")
        labels = list(device_labels(serials).values())
    assert len({label.text for label in labels}) == len(serials)
    assert len({label.safe for label in labels}) == len(serials)
    assert all(label.safe.isascii() and "/" not in label.safe for label in labels)


def test_a_rack_in_use_names_its_colliding_phones_apart(masked_env: None, tmp_path: Path) -> None:
    rack_file = tmp_path / "devices.yaml"
    rack_file.write_text(SHIPPED_RACK.read_text().replace("SIM7P0002", "SIM7P0011"))
    use_rack(load_rack(rack_file))
    try:
        assert [device_label(s) for s in ("SIM7P0001", "SIM7P0011", "SIM7P0003")] == [
            "SI…1#1",
            "SI…1#2",
            "SI…3",
        ]
        assert device_file_label("SIM7P0011") == "SI_1_2"
        assert scrub_text("SIM7P0011 rebooted") == "SI…1#2 rebooted"
        assert device_label("SIM7P0021") == "SI…1"  # not on this rack: its plain mask
    finally:
        forget_rack()


# --- the evidence's names ------------------------------------------------------


def test_pcap_and_cycle_names_carry_the_label(shipped_rack: Rack, tmp_path: Path) -> None:
    device = shipped_rack.devices[0]
    capture = Gateway("lo", tmp_path).capture(device, "boot-1")
    assert capture.pcap.name == "SI_1-boot-1.pcap"
    record = CycleRecord(device.serial, "unlock", 2, capture.pcap, attempt=2)
    assert record.label == "unlock cycle 2 (attempt 2) of SI…1"


# --- free text: logs, exceptions, Allure ---------------------------------------


def test_free_text_loses_every_identifier_of_the_rack(shipped_rack: Rack) -> None:
    text = (
        "SIM7P0002 said imei=352098100123478 iccid 89358051000000000210 imsi=244051000000002 "
        "mac 02:00:00:00:02:02 / 02-00-00-00-02-02 / 020000000202 / sim7p0003"
    )
    scrubbed = scrub_text(text)
    assert scrubbed == (
        "SI…2 said imei=3520…478 iccid 8935…210 imsi=2440…002 "
        "mac 02:0…:02 / 02-0…-02 / 0200…202 / SI…3"
    )
    assert not [value for value in raw_values(shipped_rack) if value.lower() in scrubbed.lower()]


def test_every_log_record_is_masked(shipped_rack: Rack, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("benches.test")
    with caplog.at_level(logging.INFO):
        log.info("%s: IMEI %s", "SIM7P0001", "352098100123452")
        try:
            raise RuntimeError("SIM7P0002 hung")
        except RuntimeError:
            log.exception("recovering %s", "SIM7P0002")
        log.info("100%% fine, %d phones", 3)  # untouched records keep their format
    assert caplog.messages[0] == "SI…1: IMEI 3520…452"
    assert caplog.messages[1] == "recovering SI…2"
    assert "SI…2 hung" in caplog.text and "SIM7P0002" not in caplog.text
    assert caplog.records[2].args == (3,)


def test_forgetting_the_rack_gives_logging_back(masked_env: None) -> None:
    before = logging.getLogRecordFactory()
    use_rack(load_rack(SHIPPED_RACK))
    assert logging.getLogRecordFactory() is not before
    forget_rack()
    assert logging.getLogRecordFactory() is before
    assert scrub_text("SIM7P0001") == "SIM7P0001"  # no rack in use: nothing to mask
    log_masking.uninstall()  # twice is harmless
    assert logging.getLogRecordFactory() is before


def test_exception_messages_and_their_causes_are_masked_in_place(shipped_rack: Rack) -> None:
    try:
        try:
            raise OSError("adb: device 'SIM7P0001' not found")
        except OSError as cause:
            raise RuntimeError("SIM7P0001: not booted after 60 s") from cause
    except RuntimeError as error:
        scrub_exception(error)
        assert str(error) == "SI…1: not booted after 60 s"
        assert str(error.__cause__) == "adb: device 'SI…1' not found"
    with pytest.raises(pytest.fail.Exception) as failed:
        pytest.fail("IMEI 352098100123452 in cleartext", pytrace=False)
    scrub_exception(failed.value)
    assert failed.value.msg == "IMEI 3520…452 in cleartext"


def test_a_traceback_loses_the_serials_it_shows_and_keeps_its_form(shipped_rack: Rack) -> None:
    def take_out(serial: str) -> None:
        raise RuntimeError(f"{serial} is out")

    with pytest.raises(RuntimeError) as caught:
        take_out("SIM7P0001")
    longrepr = caught.getrepr(funcargs=True, style="long")
    assert "serial = 'SIM7P0001'" in str(longrepr)  # pytest shows the raising frame's arguments
    assert scrub_repr(longrepr) is longrepr
    assert "serial = 'SI…1'" in str(longrepr) and "SIM7P0001" not in str(longrepr)
    assert longrepr.reprcrash is not None and longrepr.reprcrash.message.endswith("SI…1 is out")
    skip = ("x.py", 3, "no SIM7P0002 today")
    assert scrub_repr(skip) == ("x.py", 3, "no SI…2 today")


def test_allure_results_are_masked_except_their_file_names(shipped_rack: Rack) -> None:
    result = model2.TestResult(
        uuid="u-SIM7P0001",
        name="test_boot[SI_1-cycle1]",
        statusDetails=model2.StatusDetails(message="BenchFault: SIM7P0001 is broken"),
        parameters=[model2.Parameter(name="phone", value="'SIM7P0001'")],
        steps=[
            model2.TestStepResult(
                name="recovery of SIM7P0001",
                attachments=[
                    model2.Attachment(name="SIM7P0001 log", source="SIM7P0001-attachment.txt")
                ],
            )
        ],
    )
    scrub_model(result)
    assert result.statusDetails.message == "BenchFault: SI…1 is broken"
    assert result.parameters[0].value == "'SI…1'"
    assert result.steps[0].name == "recovery of SI…1"
    assert result.steps[0].attachments[0].name == "SI…1 log"
    assert result.steps[0].attachments[0].source == "SIM7P0001-attachment.txt"
    assert result.uuid == "u-SIM7P0001"


def test_the_switch_leaves_free_text_raw(
    shipped_rack: Rack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SHOW_IDENTIFIERS_ENV, "1")
    assert scrub_text("SIM7P0001 352098100123452") == "SIM7P0001 352098100123452"


# --- the `bench` commands -------------------------------------------------------


def bench(*args: str | Path, raw: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != SHOW_IDENTIFIERS_ENV}
    if raw:
        env[SHOW_IDENTIFIERS_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-m", "benches", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def test_bench_analyze_names_the_phone_by_label_unless_the_switch_is_on(tmp_path: Path) -> None:
    devices, firmware = rack_files(tmp_path)
    capture = write_pcap(tmp_path / "boot-1.pcap", leaky_boot())
    command = ("analyze", capture, "--devices", devices, "--firmware", firmware, "--json")

    masked = bench(*command)
    assert masked.returncode == 1 and masked.stderr == "", masked.stderr
    document = json.loads(masked.stdout)
    assert {f["device"] for f in document["findings"]} == {"SI…1"}
    assert "SIM7P0001" not in masked.stdout and "352098100123452" not in masked.stdout

    shown = bench(*command, raw=True)
    assert shown.returncode == 1
    assert shown.stderr == f"bench: {RAW_WARNING}\n"
    assert {f["device"] for f in json.loads(shown.stdout)["findings"]} == {"SIM7P0001"}
    assert "IMEI 352098100123452 in cleartext" in shown.stdout


def test_bench_signoff_show_identifiers_warns_first(tmp_path: Path) -> None:
    done = bench("signoff", "--show-identifiers", "--firmware", tmp_path / "nope.yaml")
    assert done.returncode == 2
    assert done.stdout == f"bench: {RAW_WARNING}\n"


# --- the acceptance test: a real sign-off, its report, every file searched ----


@pytest.fixture(scope="module")
def leaky_signoff(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Rack]:
    cli = require_allure()
    work = tmp_path_factory.mktemp("redaction")
    devices = relocated_rack(work, SHIFT, ADB_PORT)
    reports = work / "reports"
    env = {k: v for k, v in os.environ.items() if k != SHOW_IDENTIFIERS_ENV}
    done = signoff(
        LEAKY,
        devices,
        reports,
        args=["testcases/test_boot.py", "testcases/test_unlock.py", "--setup-show"],
        env=env,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    generate_report([reports / "allure-results"], reports / "allure-report", cli=cli)
    return reports, done.stdout + done.stderr, load_rack(devices)


@pytest.mark.live
def test_no_raw_identifier_in_any_file_under_reports_but_the_pcaps(
    leaky_signoff: tuple[Path, str, Rack],
) -> None:
    reports, _, rack = leaky_signoff
    values = raw_values(rack)
    assert (reports / "allure-report" / "index.html").is_file()
    assert list((reports / "allure-results").glob("*-result.json"))
    assert raw_identifiers_in(reports, values) == []
    # The search finds what is there: the leaky build's pcaps hold the IMEI it sent.
    pcaps = sorted((reports / "pcaps").rglob("*.pcap"))
    assert pcaps and all(is_pcap(p) for p in pcaps)
    imei = rack.devices[0].identity.imei[0].encode()
    assert any(imei in p.read_bytes() for p in pcaps)
    assert {p.name for p in pcaps} >= {"SI_1-boot-1.pcap", "SI_2-unlock-1.pcap"}


@pytest.mark.live
def test_no_raw_identifier_on_the_terminal_and_progress_shown(
    leaky_signoff: tuple[Path, str, Rack],
) -> None:
    _, output, rack = leaky_signoff
    lowered = output.lower()
    assert [v for v in raw_values(rack) if v.lower() in lowered] == []
    assert "FAILED testcases/test_boot.py::test_boot[SI_1-cycle1]" in output
    assert "TEARDOWN F phone['SI_1']" in output  # --setup-show names the phone by label
    assert "bench: [1/6] SI…1 boot cycle 1 (2 more boot cycles, 5 more tests)" in output
    assert "bench: [6/6] SI…3 unlock cycle 1 (0 more unlock cycles, 0 more tests, ~" in output
    assert RAW_WARNING not in output


@pytest.mark.live
def test_the_auditors_switch_shows_raw_serials(
    leaky_signoff: tuple[Path, str, Rack], tmp_path: Path
) -> None:
    """After the masked run (the same rack and ports): BENCH_SHOW_IDENTIFIERS=1 shows them raw."""
    devices = relocated_rack(tmp_path, SHIFT, ADB_PORT)
    reports = tmp_path / "reports"
    env = {**os.environ, SHOW_IDENTIFIERS_ENV: "1"}
    done = signoff(LEAKY, devices, reports, args=["testcases/test_boot.py"], env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"bench: {RAW_WARNING}" in done.stdout
    assert "FAILED testcases/test_boot.py::test_boot[SIM7P0001-cycle1]" in done.stdout
    assert "IMEI 352098100123452" in done.stdout
    assert (reports / "pcaps" / "00WW_3_22C" / "SIM7P0001-boot-1.pcap").is_file()
    found = raw_identifiers_in(reports, {"SIM7P0001": "serial"})
    assert any(line.startswith("allure-results/") for line in found), found
