"""Flows and DNS queries written as JSON text straight from the objects are exactly what
the JSON encoder writes for their dicts, for any value (benches.analysis.jsonrows)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benches.analysis import jsonrows
from benches.analysis.analyzer import analyze
from benches.analysis.attribution.embedded import Embedding
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.jsonrows import RawJson, RowEncoder
from benches.analysis.results import Analysis, DnsQuery, Flow
from benches.cli.analyze import _encoder, result_document, write_json
from benches.policy.evaluation import evaluate
from tests.support.pcaps import (
    FOTA_IP,
    PHONE_IP,
    leaky_boot,
    make_policy,
    make_rack,
    tls_exchange,
    write_pcap,
)

ENCODE = _encoder()
# Every character, lone surrogates too (a name read with surrogateescape can hold them).
TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
MAYBE_TEXT = st.none() | TEXT
NUMBER = st.integers(min_value=-(2**70), max_value=2**70)
TIME = st.floats() | st.integers(min_value=0, max_value=2**40)


def scrub(text: str | None) -> str | None:
    """A stand-in for Analysis.scrub: it changes every name, as masking may."""
    return f"<{text}>" if text else text


flows = st.builds(
    Flow,
    id=NUMBER,
    pcap=TEXT,
    proto=TEXT,
    protocol=TEXT,
    client_ip=TEXT,
    client_port=NUMBER,
    dst_ip=TEXT,
    dst_port=NUMBER,
    device=MAYBE_TEXT,
    name=MAYBE_TEXT,
    name_source=MAYBE_TEXT,
    name_resolved=st.booleans(),
    dns_names=st.tuples(TEXT) | st.tuples() | st.tuples(TEXT, TEXT),
    sni=MAYBE_TEXT,
    http_host=MAYBE_TEXT,
    tls=st.booleans(),
    country=MAYBE_TEXT,
    owner=MAYBE_TEXT,
    geo_source=TEXT,
    packets=NUMBER,
    bytes=NUMBER,
    bytes_to_server=NUMBER,
    bytes_to_client=NUMBER,
    first_packet=NUMBER,
    last_packet=NUMBER,
    first_time=TIME,
    last_time=TIME,
    gaps=NUMBER,
    countries=st.dictionaries(TEXT, MAYBE_TEXT, max_size=3),
    claimed_names=st.tuples() | st.tuples(TEXT),
    judged=st.booleans(),
    client_mac=MAYBE_TEXT,
    embedded_ipv4=st.none()
    | st.builds(Embedding, kind=TEXT, address=MAYBE_TEXT, prefix=TEXT, server=MAYBE_TEXT),
)
queries = st.builds(
    DnsQuery, name=TEXT, pcap=TEXT, packet=NUMBER, time=TIME, client_ip=TEXT, server_ip=TEXT
)


@given(st.lists(flows, min_size=1, max_size=4))
def test_a_flow_row_is_the_encoded_dict(some: list[Flow]) -> None:
    rows = RowEncoder(ENCODE, scrub)
    for flow in some * 2:  # again: now from the caches
        row = rows.flow(flow)
        assert isinstance(row, RawJson)
        assert row == ENCODE(flow.to_dict(scrub))


@given(st.lists(queries, min_size=1, max_size=4))
def test_a_query_row_is_the_encoded_dict(some: list[DnsQuery]) -> None:
    rows = RowEncoder(ENCODE, scrub)
    expected = list(Analysis(pcaps=(), dns_queries=some).query_dicts(scrub))
    assert [rows.query(q) for q in some * 2] == [ENCODE(d) for d in expected * 2]


@given(st.lists(flows, min_size=1, max_size=4), st.lists(TIME, min_size=1, max_size=6))
def test_a_query_after_flows_of_its_times_is_the_encoded_dict(
    some: list[Flow], times: list[float]
) -> None:
    """The encoder keeps each flow's first_time text for the DNS queries written after
    the flows (a query's time is its flow's first packet's): the same text as encoding
    the time alone, whatever the value (0.0 and -0.0, 5 and 5.0, NaN: equal or not as
    keys, written apart)."""
    rows = RowEncoder(ENCODE, scrub)
    made = [Flow.made(**{**vars(f), "first_time": t}) for f in some for t in times]
    for flow in made:
        assert rows.flow(flow) == ENCODE(flow.to_dict(scrub))
    edge = [0.0, -0.0, 5, 5.0, float("nan"), float("inf"), -float("inf"), 1700000000.000381]
    asked = [DnsQuery("a.example", "a.pcap", 1, t, "10.0.0.1", "10.0.0.53") for t in times + edge]
    expected = list(Analysis(pcaps=(), dns_queries=asked).query_dicts(scrub))
    assert [rows.query(q) for q in asked] == [ENCODE(d) for d in expected]


def test_flows_sharing_a_destination_share_its_encoded_pieces() -> None:
    rows = RowEncoder(ENCODE, scrub)
    one = Flow.made(**{**_flow_fields(), "dns_names": ("a.example",)})
    two = Flow.made(**{**_flow_fields(), "id": 2, "dns_names": ("a.example",)})
    rows.flow(one)
    rows.flow(two)
    # One encoded list each for the shared dns_names and claimed_names (empty), and one
    # set of pieces for every field the two flows share.
    assert len(rows._lists) == 2 and len(rows._countries) == 1 and len(rows._pieces) == 1
    three = Flow.made(**{**_flow_fields(), "id": 3, "dst_port": 8443})
    assert rows.flow(three) == ENCODE(three.to_dict(scrub))
    assert len(rows._pieces) == 2  # another port: other pieces


def test_pieces_forgotten_past_their_bound_are_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonrows, "PIECES_KEPT", 2)
    rows = RowEncoder(ENCODE, scrub)
    made = [Flow.made(**{**_flow_fields(), "id": n, "dst_port": n}) for n in range(5)]
    for flow in made * 2:
        assert rows.flow(flow) == ENCODE(flow.to_dict(scrub))
        assert len(rows._pieces) <= 2


def test_the_json_document_is_the_same_from_rows_and_from_dicts(tmp_path: Path) -> None:
    rack = make_rack()
    packets = leaky_boot() + tls_exchange(PHONE_IP, 40001, FOTA_IP, "fota.vendor.example").packets
    geo = GeoDatabase.for_rack(rack)
    analysis = analyze([write_pcap(tmp_path / "boot.pcap", packets)], rack, geo)
    verdict = evaluate(analysis, make_policy())
    texts = []
    for rows in (False, True):
        out = io.StringIO()
        write_json(result_document(verdict, analysis, geo.info(), "B", rows=rows), out)
        texts.append(out.getvalue())
    assert texts[0] == texts[1]
    document = json.loads(texts[1])
    assert len(document["flows"]) >= 3 and document["dns_queries"]


def _flow_fields() -> dict[str, object]:
    return {
        "id": 1, "pcap": "a.pcap", "proto": "tcp", "protocol": "tls", "client_ip": "10.0.0.2",
        "client_port": 40000, "dst_ip": "192.0.2.1", "dst_port": 443, "device": "SIM1",
        "name": "a.example", "name_source": "dns", "name_resolved": True, "dns_names": (),
        "sni": None, "http_host": None, "tls": True, "country": "FI", "owner": "X",
        "geo_source": "geoip2fast", "packets": 3, "bytes": 100, "bytes_to_server": 10,
        "bytes_to_client": 20, "first_packet": 1, "last_packet": 3, "first_time": 1.5,
        "last_time": 2.25, "gaps": 0, "countries": {"geoip2fast": "FI", "iptocc": "FI"},
    }  # fmt: skip
