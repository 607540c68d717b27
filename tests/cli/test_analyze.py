"""``python -m benches analyze``: the JSON contract, exit codes and one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benches.cli.analyze import write_json
from tests.support.analyzecli import DEVICES, bench, rack_files
from tests.support.pcaps import (
    IMEI,
    PHONE_IP,
    RESOLVER_IP,
    clean_boot,
    dns_query,
    leaky_boot,
    write_pcap,
    write_pcapng,
)


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    return rack_files(tmp_path)


def analyze_json(inputs: tuple[Path, Path], *captures: Path, extra: tuple[str, ...] = ()):
    devices, firmware = inputs
    result = bench(
        "analyze", *captures, "--devices", devices, "--firmware", firmware, "--json", *extra
    )
    return result, json.loads(result.stdout) if result.stdout else None


def test_leaky_capture_fails_with_the_contract_fields(
    tmp_path: Path, inputs: tuple[Path, Path]
) -> None:
    capture = write_pcap(tmp_path / "boot-1.pcap", leaky_boot())
    result, document = analyze_json(inputs, capture)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    assert document["verdict"] == "fail"
    assert {"verdict", "findings", "flows", "geo", "reasons"} <= document.keys()
    for finding in document["findings"]:
        for key in (
            "kind",
            "device",
            "encoding",
            "dst_ip",
            "dst_host",
            "country",
            "owner",
            "packet",
        ):
            assert key in finding
    imei = next(f for f in document["findings"] if f.get("identifier") == "imei")
    assert imei == {
        **imei,
        "kind": "cleartext_identifier",
        "device": "SI…1",  # the phone's label: its serial masked
        "value": "3520…452",
        "form": "imei-15",
        "encoding": "plain",
        "dst_ip": "127.0.86.10",
        "dst_host": "zfhmd.vnet.cn",
        "country": "CN",
        "owner": "Chinanet",
        "packet": 6,
    }
    http = next(f for f in document["flows"] if f["protocol"] == "http")
    assert (http["dst_host"], http["country"], http["name_source"]) == (
        "zfhmd.vnet.cn",
        "CN",
        "dns",
    )
    assert document["geo"]["source"].startswith("MAXMIND:GeoLite2")
    assert http["device"] == "SI…1"
    assert IMEI not in result.stdout and "SIM7P0001" not in result.stdout


def test_clean_capture_passes(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    capture = write_pcap(tmp_path / "boot-1.pcap", clean_boot())
    result, document = analyze_json(inputs, capture)
    assert result.returncode == 0, result.stderr
    assert (document["verdict"], document["findings"], document["reasons"]) == ("pass", [], [])
    assert [f["protocol"] for f in document["flows"]] == ["dns", "tls"]


def test_missing_canary_is_inconclusive(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    packets = [dns_query(PHONE_IP, RESOLVER_IP, "canary-1.bench.example", sport=34000)]
    capture = write_pcap(tmp_path / "boot-1.pcap", packets + clean_boot())
    extra = ("--canary", "canary-1.bench.example", "--canary", "canary-2.bench.example")
    result, document = analyze_json(inputs, capture, extra=extra)
    assert result.returncode == 2
    assert document["verdict"] == "inconclusive"
    assert document["reasons"] == ["canary lookup canary-2.bench.example not seen in the capture"]


def test_several_captures_and_pcapng(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    one = write_pcap(tmp_path / "boot-1.pcap", clean_boot())
    two = write_pcapng(tmp_path / "boot-2.pcapng", leaky_boot())
    result, document = analyze_json(inputs, one, two)
    assert result.returncode == 1
    assert {Path(f["pcap"]).name for f in document["findings"]} == {"boot-2.pcapng"}


def test_quick_exit_still_writes_every_byte(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    """``bench analyze`` ends without the interpreter's teardown (benches.cli.main.entry): what
    it wrote must all be out first, far more than a pipe holds, and the exit code kept."""
    lookups = [
        dns_query(PHONE_IP, RESOLVER_IP, f"host-{n}.vendor.example", sport=20000 + n, qid=n)
        for n in range(1500)
    ]
    capture = write_pcap(tmp_path / "boot-1.pcap", lookups + leaky_boot())
    devices, firmware = inputs
    args = ("analyze", capture, "--devices", devices, "--firmware", firmware, "--json")
    result = bench(*args, env={"PYTHONUNBUFFERED": ""})  # stdout buffered, as by default
    document = json.loads(result.stdout)
    assert len(result.stdout) > 4 * 65536  # several pipe buffers
    assert result.returncode == 1 and document["verdict"] == "fail"
    assert len(document["dns_queries"]) >= 1500 and len(document["flows"]) >= 1500


def test_json_output_is_one_item_per_line() -> None:
    flows = [{"id": n, "dst_host": f"h{n}.example", "countries": {"a": "FI"}} for n in range(2345)]
    document = {"verdict": "pass", "findings": [], "flows": flows, "geo": {"source": "x"}}
    out = io.StringIO()
    write_json(document, out)
    assert json.loads(out.getvalue()) == document
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["{", '  "verdict": "pass",', '  "findings": [],']
    assert sum(line.startswith('    {"id": ') for line in lines) == len(flows)


def test_text_output_is_a_masked_summary(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    devices, firmware = inputs
    capture = write_pcap(tmp_path / "boot-1.pcap", leaky_boot())
    result = bench("analyze", capture, "--devices", devices, "--firmware", firmware)
    assert result.returncode == 1
    assert result.stdout.startswith("verdict: FAIL")
    assert (
        "IMEI 3520…452 in cleartext to zfhmd.vnet.cn (127.0.86.10, CN, Chinanet)" in result.stdout
    )
    assert IMEI not in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No such file or directory"),
        (b"", "empty file"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "truncated pcap header"),
        (b"GET / HTTP/1.1\r\n\r\n", "not a pcap or pcapng capture"),
    ],
)
def test_unusable_capture_is_one_line_and_exit_2(
    tmp_path: Path, inputs: tuple[Path, Path], content: bytes | None, expected: str
) -> None:
    capture = tmp_path / "boot-1.pcap"
    if content is not None:
        capture.write_bytes(content)
    result, _ = analyze_json(inputs, capture)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"bench: error: {capture}: ")
    assert expected in result.stderr


def test_bad_devices_file_is_one_line_and_exit_2(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    devices, firmware = inputs
    devices.write_text(DEVICES.replace('"352098100123452", ', '"35209810012345x", '))
    capture = write_pcap(tmp_path / "boot-1.pcap", clean_boot())
    result = bench("analyze", capture, "--devices", devices, "--firmware", firmware, "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"bench: error: {devices}:")
    assert "Traceback" not in result.stderr


def test_missing_firmware_file_is_one_line_and_exit_2(
    tmp_path: Path, inputs: tuple[Path, Path]
) -> None:
    devices, _ = inputs
    capture = write_pcap(tmp_path / "boot-1.pcap", clean_boot())
    result = bench("analyze", capture, "--devices", devices, "--firmware", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("bench: error: ")


def test_a_user_mmdb_is_used_and_named_in_the_result(
    tmp_path: Path, inputs: tuple[Path, Path]
) -> None:
    from tests.support.mmdb import write_mmdb

    mmdb = write_mmdb(
        tmp_path / "country.mmdb",
        "GeoLite2-Country",
        [("1.0.0.0/8", {"country": {"iso_code": "AU"}})],
    )
    capture = write_pcap(tmp_path / "boot-1.pcap", clean_boot())
    result, document = analyze_json(inputs, capture, extra=("--mmdb", str(mmdb)))
    assert result.returncode == 0, result.stderr
    assert "GeoLite2-Country" in json.dumps(document["geo"])


def test_a_bad_mmdb_is_one_line_naming_the_file(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    bad = tmp_path / "broken.mmdb"
    bad.write_bytes(b"not a maxmind database")
    capture = write_pcap(tmp_path / "boot-1.pcap", clean_boot())
    result, _ = analyze_json(inputs, capture, extra=("--mmdb", str(bad)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.mmdb" in lines[0], result.stderr


def test_a_hostile_mmdb_owner_reaches_the_terminal_escaped_and_the_json_raw(
    tmp_path: Path, inputs: tuple[Path, Path]
) -> None:
    from tests.support.hostile_names import EVIL_OWNER, EVIL_OWNER_SHOWN, evil_mmdb, to_evil_owner

    mmdb = evil_mmdb(tmp_path / "city.mmdb")
    capture = write_pcap(tmp_path / "boot-1.pcap", to_evil_owner())
    devices, firmware = inputs
    shown = bench("analyze", capture, "--devices", devices, "--firmware", firmware, "--mmdb", mmdb)
    assert shown.returncode == 1, shown.stderr  # cdn.evil.example is not an allowed host
    assert "\x1b" not in shown.stdout
    assert EVIL_OWNER_SHOWN in shown.stdout
    finding = next(line for line in shown.stdout.splitlines() if "host_violation" in line)
    assert EVIL_OWNER_SHOWN in finding
    _, document = analyze_json(inputs, capture, extra=("--mmdb", str(mmdb)))
    owners = {flow["owner"] for flow in document["flows"]}
    assert EVIL_OWNER in owners  # the data stays raw; json.dumps escapes it as \u001b
    assert EVIL_OWNER_SHOWN in document["findings"][0]["message"]


def test_a_pcap_name_with_escape_sequences_is_shown_escaped(
    tmp_path: Path, inputs: tuple[Path, Path]
) -> None:
    devices, firmware = inputs
    capture = write_pcap(tmp_path / "boot\x1b[31m-1.pcap", clean_boot())
    shown = bench("analyze", capture, "--devices", devices, "--firmware", firmware)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "boot\\x1b[31m-1.pcap" in shown.stdout
    broken = tmp_path / "nope\x1b]0;owned\x07.pcap"
    broken.write_bytes(b"not a capture")
    refused = bench("analyze", broken, "--devices", devices, "--firmware", firmware)
    assert refused.returncode == 2
    assert "\x1b" not in refused.stderr and "\x07" not in refused.stderr
    assert refused.stderr.count("\n") == 1 and "nope\\x1b]0;owned\\x07.pcap" in refused.stderr
