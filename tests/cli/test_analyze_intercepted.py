"""``bench analyze X.pcap --intercepted X.intercepted.jsonl``: the exit code, the JSON's
``interception`` and each flow's, the text output, and fail-closed input errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.analyzecli import DEVICES, FIRMWARE, bench
from tests.support.intercepted import gzip_json_post, message, meta, tls_failed, write_intercepted
from tests.support.pcaps import (
    FOTA_IP,
    IMEI,
    PHONE_IP,
    RESOLVER_IP,
    TcpSession,
    client_hello,
    dns_lookup,
    tls_exchange,
    write_pcap,
)

CLIENT, SERVER = f"{PHONE_IP}:40010", f"{FOTA_IP}:443"


def files(tmp_path: Path, lines: list, meta_value: dict | None = None) -> list[str | Path]:
    devices, firmware = tmp_path / "devices.yaml", tmp_path / "firmware.yaml"
    devices.write_text(DEVICES)
    firmware.write_text(FIRMWARE)
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, "fota.vendor.example", FOTA_IP)
    packets += tls_exchange(PHONE_IP, 40010, FOTA_IP, "fota.vendor.example").packets
    session = TcpSession(PHONE_IP, 40011, FOTA_IP, 443).handshake()
    session.send(client_hello("fota.vendor.example"))
    packets += session.close().packets
    pcap = write_pcap(tmp_path / "boot-1.pcap", packets)
    jsonl = write_intercepted(pcap, lines, meta(PHONE_IP) if meta_value is None else meta_value)
    return [pcap, "--devices", devices, "--firmware", firmware, "--intercepted", jsonl]


def test_a_recipient_over_tls_passes_once_every_flow_is_opened(tmp_path: Path) -> None:
    lines = [
        gzip_json_post(CLIENT, SERVER, {"imei": IMEI}, host="fota.vendor.example"),
        message("request", f"{PHONE_IP}:40011", SERVER, host="fota.vendor.example", flow="f2"),
    ]
    done = bench("analyze", *files(tmp_path, lines), "--json")

    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["interception"]["phones"]["SI…1"]["opened"] == 2
    assert {f["interception"] for f in result["flows"] if f["protocol"] == "tls"} == {"opened"}


def test_a_host_claimed_inside_tls_that_dns_does_not_tie_fails_the_recipient_rule(
    tmp_path: Path,
) -> None:
    lines = [
        gzip_json_post(CLIENT, SERVER, {"imei": IMEI}, host="collector.elsewhere.example"),
        message("request", f"{PHONE_IP}:40011", SERVER, host="fota.vendor.example", flow="f2"),
    ]
    done = bench("analyze", *files(tmp_path, lines))

    assert done.returncode == 1, done.stdout + done.stderr
    assert "sent inside TLS to fota.vendor.example" in done.stdout
    assert "(imei-15, tls+h2+gzip+plain)" in done.stdout and IMEI not in done.stdout


def test_the_text_output_counts_and_names_the_opaque_flows(tmp_path: Path) -> None:
    lines = [tls_failed(f"{PHONE_IP}:40011", SERVER, "fota.vendor.example", "pinning")]
    done = bench("analyze", *files(tmp_path, lines))

    # opaque, but to an identifier recipient: what it hides it may receive anyway
    assert done.returncode == 0, done.stdout
    assert "  - SI…1: TLS: 0 opened, 2 opaque, 0 not tried" in done.stdout
    assert "    opaque: fota.vendor.example:443" in done.stdout


def test_a_missing_or_broken_file_is_inconclusive_in_one_line(tmp_path: Path) -> None:
    arguments = files(tmp_path, [b'{"kind": "request", "client": 5}'])
    done = bench("analyze", *arguments)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "boot-1.intercepted.jsonl line 1: client is not an address ip:port" in done.stdout

    arguments[-1] = tmp_path / "nowhere.intercepted.jsonl"
    done = bench("analyze", *arguments)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nowhere.intercepted.jsonl: No such file or directory" in done.stdout
