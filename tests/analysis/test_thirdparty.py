"""Captures from the outside world: other projects' test captures, read by ``bench analyze``.

tests/data/thirdparty/ holds captures published by Zeek, nDPI and tcpdump
(SOURCES.md says where each comes from, under which licence, and what it
covers: DNS over UDP and TCP, HTTP/1 with gzip and chunked bodies and a capture
that starts mid-connection, TLS 1.2 and 1.3 SNI, QUIC v1 (a ClientHello over
three Initials; Initials sent to the server's DCID) and drafts 27 and 29,
Google QUIC Q043/Q046/Q050, PPPoE, 802.1Q and 802.1ad, MPLS, GRE, ERSPAN,
VXLAN, IPv6, IPv4 and IPv6 fragments, pcapng). The judged phones
(devices.yaml there) are the clients in them, with made-up identities.

- the bench reads each one to the end: exit 0, 1 or 2 with its JSON, no traceback;
- it finds none of the made-up identifiers in any of them;
- tshark is the oracle for names: of the server names the judged phones send
  (DNS queries, TLS and QUIC SNI, gQUIC SNI, HTTP Host), the names the bench
  reports for those phones cover at least 95%, over all the captures together.
  The figure, per capture and in all, is printed (``pytest -s`` shows it too).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from benches.inventory import load_rack
from tests.support.analyzecli import bench
from tests.support.paths import REPO
from tests.support.tshark_names import ServerName, server_names

# The module-scoped fixtures are costly: its tests share one worker, so they are built once.
pytestmark = pytest.mark.xdist_group("tests/analysis/test_thirdparty.py")

DATA = REPO / "tests" / "data" / "thirdparty"
DEVICES, FIRMWARE = DATA / "devices.yaml", DATA / "firmware.yaml"
CAPTURES = sorted(p for p in DATA.iterdir() if p.suffix in (".pcap", ".pcapng"))
COVERAGE = 0.95  # issue 12: "cover at least 95% of the names tshark reads"
# Captures that carry no server name (SOURCES.md says why they are here).
WITHOUT_NAMES = {"zeek-erspanII.pcap"}  # ERSPAN type II around ICMP echoes
RUNS_AT_ONCE = 8  # subprocesses (bench, tshark) run side by side; each is short


@dataclass
class Reading:
    """One ``bench analyze --json`` run on one capture."""

    returncode: int
    stderr: str
    document: dict[str, Any] | None
    names: set[str] = field(default_factory=set)  # reported for the judged phones


@pytest.fixture(scope="module")
def phones() -> frozenset[str]:
    """The judged phones' addresses."""
    rack = load_rack(DEVICES)
    return frozenset(_address(a) for d in rack.devices for a in d.network.addresses)


@pytest.fixture(scope="module")
def readings(phones: frozenset[str]) -> dict[str, Reading]:
    with ThreadPoolExecutor(RUNS_AT_ONCE) as pool:
        done = pool.map(lambda capture: _read(capture, phones), CAPTURES)
        return {capture.name: reading for capture, reading in zip(CAPTURES, done, strict=True)}


@pytest.fixture(scope="module")
def oracle(phones: frozenset[str]) -> dict[str, list[ServerName]]:
    """tshark's server names per capture, those the judged phones send."""
    with ThreadPoolExecutor(RUNS_AT_ONCE) as pool:
        done = pool.map(server_names, CAPTURES)
        return {
            capture.name: [n for n in names if _address(n.client) in phones]
            for capture, names in zip(CAPTURES, done, strict=True)
        }


def test_the_set_is_the_one_sources_md_describes() -> None:
    """Each capture is listed in SOURCES.md with its SHA-256, and there are a few of them."""
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert 10 <= len(CAPTURES) <= 25
    assert sum(p.stat().st_size for p in CAPTURES) < 4 << 20
    for capture in CAPTURES:
        digest = hashlib.sha256(capture.read_bytes()).hexdigest()
        assert f"`{capture.name}`" in sources, f"{capture.name} is not in SOURCES.md"
        assert digest in sources, f"{capture.name}: its SHA-256 is not the one SOURCES.md gives"


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_bench_reads_it_to_the_end(capture: Path, readings: dict[str, Reading]) -> None:
    reading = readings[capture.name]
    assert "Traceback" not in reading.stderr, reading.stderr
    assert reading.returncode in (0, 1, 2), reading.stderr
    assert reading.document is not None, f"no JSON: {reading.stderr}"
    assert reading.document["verdict"] in ("pass", "fail", "inconclusive")
    assert [Path(c["pcap"]).name for c in reading.document["captures"]] == [capture.name]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_no_made_up_identifier_is_found(capture: Path, readings: dict[str, Reading]) -> None:
    document = readings[capture.name].document
    assert document is not None
    leaks = [f for f in document["findings"] if f.get("identifier") is not None]
    assert leaks == []


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_tshark_reads_names_of_the_judged_phones(
    capture: Path, oracle: dict[str, list[ServerName]]
) -> None:
    """Every capture counts: the rack names its clients, and tshark reads their names."""
    if capture.name in WITHOUT_NAMES:
        assert oracle[capture.name] == []
    else:
        assert oracle[capture.name], f"tshark reads no name of a judged phone in {capture.name}"


def test_names_cover_what_tshark_reads(
    oracle: dict[str, list[ServerName]],
    readings: dict[str, Reading],
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows, missing = [], []
    wanted_total = covered_total = 0
    for capture in CAPTURES:
        wanted = {n.name: n for n in oracle[capture.name]}
        got = readings[capture.name].names
        lost = sorted(set(wanted) - got)
        covered = len(wanted) - len(lost)
        wanted_total, covered_total = wanted_total + len(wanted), covered_total + covered
        rows.append(f"  {capture.name}: {covered}/{len(wanted)}")
        missing += [
            f"  {capture.name}: {n} ({wanted[n].kind}, frame {wanted[n].frame})" for n in lost
        ]
    share = covered_total / wanted_total
    figure = f"{covered_total}/{wanted_total} = {share:.1%}"
    table = "\n".join(
        [f"names the bench reports, of those tshark reads: {figure}"]
        + rows
        + (["missing:", *missing] if missing else [])
    )
    with capsys.disabled():
        print(f"\n{table}")
    assert share >= COVERAGE, table


# --- helpers ------------------------------------------------------------------------


def _read(capture: Path, phones: frozenset[str]) -> Reading:
    run = bench("analyze", capture, "--devices", DEVICES, "--firmware", FIRMWARE, "--json")
    try:
        document = json.loads(run.stdout)
    except json.JSONDecodeError:
        return Reading(run.returncode, run.stderr, None)
    return Reading(run.returncode, run.stderr, document, set(_phone_names(document, phones)))


def _phone_names(document: dict[str, Any], phones: frozenset[str]) -> Iterator[str]:
    """The names the bench gives the judged phones' flows and DNS queries."""
    for flow in document["flows"]:
        if flow["device"] is None:
            continue
        for key in ("dst_host", "sni", "http_host"):
            if flow[key]:
                yield _name(flow[key])
        yield from map(_name, flow["dns_names"])
    for query in document["dns_queries"]:
        if _address(query["client_ip"]) in phones:
            yield _name(query["name"])


def _name(name: str) -> str:
    return name.lower().rstrip(".")


def _address(text: str) -> str:
    return str(ipaddress.ip_address(text))
