"""The bench's location in the forms of issue 13, end to end: ``bench analyze`` on crafted
captures fails with the form named (E6, E5, a geohash, a [lon, lat] pair), and passes
on the traps (the same forms outside the radius, base32 words that are no geohash near
the bench: too short, too long or inside a token; integers out of the band)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benches.analysis.detection.geohash import encode
from tests.support.analyzecli import bench, rack_files
from tests.support.pcaps import FOTA_IP, PHONE_IP, RESOLVER_IP, TcpSession, dns_lookup, http_post
from tests.support.pcaps import write_pcap as write

HOST = "fota.vendor.example"  # allowed and an identifier recipient: only a location fails
HELSINKI_GEOHASH = encode(60.1699, 24.9384, 8).encode()  # ud9wr3xe
STOCKHOLM_GEOHASH = encode(59.3293, 18.0686, 8).encode()  # 400 km away


def capture(folder: Path, body: bytes) -> Path:
    session = TcpSession(PHONE_IP, 41700, FOTA_IP, 80).handshake()
    session.send(http_post(HOST, "/v1/report", body))
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, HOST, FOTA_IP) + session.close().packets
    return write(folder / "capture.pcap", packets)


def analyzed(folder: Path, body: bytes) -> tuple[int, list[dict[str, object]]]:
    devices, firmware = rack_files(folder)
    path = capture(folder, body)
    done = bench("analyze", path, "--devices", devices, "--firmware", firmware, "--json")
    assert done.returncode in (0, 1), done.stderr
    findings = json.loads(done.stdout)["findings"]
    return done.returncode, findings


@pytest.mark.parametrize(
    ("body", "form"),
    [
        (b'{"latE6":60169900,"lngE6":24938400}', "e6"),
        (b'{"lat_e5":6016990,"lon_e5":2493840}', "e5"),
        (b'{"geohash":"' + HELSINKI_GEOHASH + b'"}', "geohash"),
        (b'{"type":"Point","coordinates":[24.9384,60.1699]}', "decimal-lonlat"),
    ],
)
def test_each_form_fails_with_its_name(tmp_path: Path, body: bytes, form: str) -> None:
    code, findings = analyzed(tmp_path, body)
    assert code == 1
    [finding] = findings
    assert (finding["identifier"], finding["form"]) == ("location", form)
    assert f"({form}, plain)" in str(finding["message"])


def test_the_traps_pass(tmp_path: Path) -> None:
    body = (
        b'{"stockholm_e6":[59329300,18068600],"stockholm_e5":[5932930,1806860],'
        b'"gh":"' + STOCKHOLM_GEOHASH + b'","words":"sunset between ud9w ud9wr3xe1xzzzz",'
        b'"token":"xud9wr3xe","ids":[1234567,7654321,12345678,87654321],'
        b'"gj":[18.0686,59.3293]}'
    )
    code, findings = analyzed(tmp_path, body)
    assert (code, findings) == (0, [])
