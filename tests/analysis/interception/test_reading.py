"""What the TLS interceptor decrypted, searched like cleartext and joined to the capture's
flows; the phone's TLS flows told opened, opaque or not tried; fail closed throughout."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from benches.analysis.interception import records
from benches.analysis.interception.reading import Intercepted
from benches.analysis.protocols.notes import (
    BUDGET_SPENT,
    INTERCEPTION_UNJOINED,
    INTERCEPTION_UNREAD,
    TLS_OPAQUE,
)
from benches.analysis.results import Analysis
from benches.inventory.models import Policy
from benches.inventory.virtual import Endpoint
from benches.policy.evaluation import evaluate
from benches.policy.findings import IDENTIFIER_LEAK
from benches.policy.verdict import Outcome, Verdict
from tests.support.intercepted import (
    gzip_json_post,
    message,
    meta,
    tls_failed,
    websocket,
    write_intercepted,
)
from tests.support.pcaps import (
    FOTA_IP,
    IMEI,
    PHONE_IP,
    RESOLVER_IP,
    TcpSession,
    client_hello,
    dns_lookup,
    make_rack,
    tls_application_data,
    tls_exchange,
    udp_packet,
    write_pcap,
)

IE_IP = "127.0.35.10"  # analytics.partner.example: Ireland, allowed, not a recipient
PINNED_IP = "127.0.35.20"
ANALYTICS, PINNED = "analytics.partner.example", "pinned.partner.example"
RACK = make_rack(
    (
        Endpoint(ANALYTICS, IE_IP, "IE", "Partner Analytics Ltd"),
        Endpoint(PINNED, PINNED_IP, "IE", "Partner Analytics Ltd"),
        Endpoint("fota.vendor.example", FOTA_IP, "FI", "Vendor Cloud Oy"),
    )
)
GEO = GeoDatabase.for_rack(RACK)
CLIENT, SERVER = f"{PHONE_IP}:40010", f"{IE_IP}:443"
PINNED_CLIENT, PINNED_SERVER = f"{PHONE_IP}:40011", f"{PINNED_IP}:443"


def policy(**changes: Any) -> Policy:
    values: dict[str, Any] = {
        "allowed_countries": frozenset({"FI", "IE"}),
        "identifier_recipients": ("fota.vendor.example",),
    }
    return Policy(**{**values, **changes})


def capture(tmp_path: Path, *, pinned: bool = False, extra: list | None = None) -> Path:
    packets = dns_lookup(PHONE_IP, RESOLVER_IP, ANALYTICS, IE_IP)
    packets += tls_exchange(PHONE_IP, 40010, IE_IP, ANALYTICS).packets
    if pinned:
        packets += dns_lookup(PHONE_IP, RESOLVER_IP, PINNED, PINNED_IP, sport=33334, qid=8)
        session = TcpSession(PHONE_IP, 40011, PINNED_IP, 443).handshake()
        session.send(client_hello(PINNED))
        packets += session.close().packets  # the client hung up on the certificate
    return write_pcap(tmp_path / "boot-1.pcap", [*packets, *(extra or [])])


def leak() -> list[dict[str, Any]]:
    return [
        gzip_json_post(CLIENT, SERVER, {"imei": IMEI, "event": "boot"}),
        message("response", CLIENT, SERVER, b'{"ok":true}', status=200),
    ]


def run(
    tmp_path: Path, lines: list, meta_value: dict[str, Any] | None = None, **kw: Any
) -> Analysis:
    pcap = capture(tmp_path, **kw)
    jsonl = write_intercepted(pcap, lines, meta(PHONE_IP) if meta_value is None else meta_value)
    return analyze([pcap], RACK, GEO, interception=[Intercepted.beside(jsonl)])


def judged(analysis: Analysis, rules: Policy | None = None) -> Verdict:
    return evaluate(analysis, rules or policy())


def notes(analysis: Analysis, kind: str) -> list[str]:
    return [n.detail for f in analysis.flows for n in f.notes if n.kind == kind]


# --- the detector on what was decrypted -------------------------------------------


def test_imei_in_gzipped_json_over_h2_is_found_inside_tls(tmp_path: Path) -> None:
    analysis = run(tmp_path, leak())
    verdict = judged(analysis)

    assert verdict.outcome is Outcome.FAIL
    (finding,) = verdict.findings
    assert finding.kind == IDENTIFIER_LEAK
    assert finding.encoding == "tls+h2+gzip+plain"
    # destination, country and owner from the capture's flow, its name from the phone's DNS
    assert finding.message() == (
        "IMEI 3520…452 sent inside TLS to analytics.partner.example (127.0.35.10, IE,"
        " Partner Analytics Ltd), not an identifier recipient (imei-15, tls+h2+gzip+plain),"
        " packet 3 of boot-1.pcap"
    )
    (flow,) = [f for f in analysis.flows if f.protocol == "tls"]
    assert flow.interception == "opened" and flow.name_resolved
    assert analysis.to_dict()["interception"]["phones"] == {
        "SI…1": {"opened": 1, "opaque": 0, "not tried": 0, "quic blocked": 0}
    }


def test_an_identifier_recipient_may_receive_it_inside_tls(tmp_path: Path) -> None:
    verdict = judged(run(tmp_path, leak()), policy(identifier_recipients=(ANALYTICS,)))

    assert verdict.outcome is Outcome.PASS, verdict.reasons


def test_http1_query_and_headers_are_searched_with_their_chain(tmp_path: Path) -> None:
    lines = [
        message("request", CLIENT, SERVER, http_version="HTTP/1.1", method="GET",
                path=f"/track?id={IMEI}", flow="a"),
        message("request", CLIENT, SERVER, http_version="HTTP/1.1", method="GET", path="/",
                headers=[("X-Device", IMEI)], flow="b"),
    ]  # fmt: skip
    analysis = run(tmp_path, lines)

    assert {m.encoding for m in analysis.matches} == {"tls+h1+plain"}
    assert len(analysis.matches) == 2


def test_a_websocket_message_after_the_switch_has_its_chain(tmp_path: Path) -> None:
    upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]  # fmt: skip
    lines = [
        message("request", CLIENT, SERVER, http_version="HTTP/1.1", method="GET", path="/ws",
                headers=upgrade, flow="w1"),
        message("response", CLIENT, SERVER, status=101, http_version="HTTP/1.1",
                headers=[("Upgrade", "websocket"), ("Connection", "Upgrade")], flow="w1"),
        websocket(CLIENT, SERVER, json.dumps({"imei": IMEI}).encode()),
        websocket(CLIENT, SERVER, gzip.compress(IMEI.encode()), from_client=False),
    ]  # fmt: skip
    analysis = run(tmp_path, lines)

    assert {m.encoding for m in analysis.matches} == {
        "tls+ws+plain",
        "tls+ws+sniffed-gzip+plain",
    }


def test_websocket_messages_without_their_switch_are_read_as_messages(tmp_path: Path) -> None:
    # the connection began before the cycle's window: its 101 is in another cycle's file
    lines = [
        websocket(CLIENT, SERVER, b"hello"),
        websocket(CLIENT, SERVER, gzip.compress(IMEI.encode()), from_client=False),
    ]
    analysis = run(tmp_path, lines)

    assert [m.encoding for m in analysis.matches] == ["tls+ws+sniffed-gzip+plain"]
    assert any("read as if switched" in n.detail for f in analysis.flows for n in f.notes)


def test_a_body_bomb_spends_the_budget_and_the_cycle_is_inconclusive(tmp_path: Path) -> None:
    bomb = gzip.compress(b"0" * (80 << 20))  # 80 MiB of zeros: past the flow's 64 MiB
    request = message("request", CLIENT, SERVER, bomb, headers=[("content-encoding", "gzip")])
    analysis = run(tmp_path, [request])

    assert notes(analysis, BUDGET_SPENT)
    assert judged(analysis).outcome is Outcome.INCONCLUSIVE


def test_a_header_block_past_the_readers_limit_is_inconclusive_not_a_silent_pass(
    tmp_path: Path,
) -> None:
    request = gzip_json_post(CLIENT, SERVER, {"imei": IMEI})
    request["headers"] += [[f"x-pad-{n}", "a" * 60_000] for n in range(3)]
    analysis = run(tmp_path, [request])

    assert any(
        "header block is over 65,536 bytes" in d for d in notes(analysis, INTERCEPTION_UNREAD)
    )
    assert judged(analysis).outcome is Outcome.INCONCLUSIVE


@pytest.mark.parametrize(
    ("request_changes", "response_status"),
    [
        ({"method": "HEAD"}, 200),  # a HEAD's response read with no body
        ({"method": "post"}, 200),  # no start line the reader syncs on
        ({"method": "CONNECT"}, 200),  # a tunnel: the reader would stop
        ({}, 204),  # a body where none may be
        ({}, 304),
        ({}, 103),
    ],
)
def test_a_body_where_http1_expects_none_is_still_decoded(
    tmp_path: Path, request_changes: dict[str, Any], response_status: int
) -> None:
    body = gzip.compress(json.dumps({"imei": IMEI}).encode())
    gzipped = [("content-encoding", "gzip")]
    lines = [
        {**message("request", CLIENT, SERVER), **request_changes},
        message("response", CLIENT, SERVER, body, status=response_status, headers=gzipped),
    ]
    analysis = run(tmp_path, lines)

    assert [m.encoding for m in analysis.matches] == ["tls+h2+gzip+plain"]


# --- opaque, not tried, QUIC -------------------------------------------------------


def test_a_pinned_clients_flow_is_opaque_and_makes_the_cycle_inconclusive(
    tmp_path: Path,
) -> None:
    lines = [tls_failed(PINNED_CLIENT, PINNED_SERVER, PINNED, "certificate unknown (pinning)")]
    analysis = run(tmp_path, lines, pinned=True)
    verdict = judged(analysis)

    (flow,) = [f for f in analysis.flows if f.dst_ip == PINNED_IP and f.proto == "tcp"]
    assert flow.interception == "opaque"
    assert analysis.to_dict()["interception"]["opaque"] == [
        "analytics.partner.example:443",
        "pinned.partner.example:443",
    ]
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert any("127.0.35.20:443" in r and "certificate unknown" in r for r in verdict.reasons)
    # the other TLS flow had nothing decrypted either: opaque too, said without a refusal
    assert any("no message of it was decrypted" in d for d in notes(analysis, TLS_OPAQUE))


def test_a_pinned_host_listed_in_opaque_hosts_does_not_hold_the_verdict(tmp_path: Path) -> None:
    lines = [*leak()[1:], tls_failed(PINNED_CLIENT, PINNED_SERVER, PINNED, "pinning")]
    analysis = run(tmp_path, lines, pinned=True)

    assert judged(analysis, policy(opaque_hosts=("partner.example",))).outcome is Outcome.PASS
    assert judged(analysis, policy(opaque_hosts=("other.example",))).outcome is (
        Outcome.INCONCLUSIVE
    )


def test_tls_on_a_port_not_intercepted_is_not_tried_and_quic_is_counted(tmp_path: Path) -> None:
    other = tls_exchange(PHONE_IP, 40020, IE_IP, ANALYTICS, sport=8443).packets
    quic = [udp_packet(PHONE_IP, 50000, IE_IP, 443, b"\xc0" + bytes(1199))]
    analysis = run(tmp_path, leak(), extra=[*other, *quic])

    states = {(f.proto, f.dst_port): f.interception for f in analysis.flows if f.interception}
    assert states == {("tcp", 443): "opened", ("tcp", 8443): "not tried",
                      ("udp", 443): "quic blocked"}  # fmt: skip
    assert judged(analysis).outcome is Outcome.FAIL  # the leak; not-tried is not opaque


def test_unrecognised_bytes_on_an_intercepted_port_with_nothing_decrypted_are_opaque(
    tmp_path: Path,
) -> None:
    # a TLS connection whose ClientHello came before the window: ciphertext only
    session = TcpSession(PHONE_IP, 40030, IE_IP, 443).handshake()
    session.send(tls_application_data(400))
    analysis = run(tmp_path, leak()[1:], extra=session.close().packets)

    (flow,) = [f for f in analysis.flows if f.client_port == 40030]
    assert flow.interception == "opaque"
    assert judged(analysis).outcome is Outcome.INCONCLUSIVE


# --- fail closed -------------------------------------------------------------------


def test_an_incomplete_interception_makes_the_cycle_inconclusive(tmp_path: Path) -> None:
    lines = leak()[1:]  # nothing leaks
    incomplete = meta(PHONE_IP, complete=False, reason="mitmdump exited with 1 at 12.5 s")
    verdict = judged(run(tmp_path, lines, incomplete))

    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reasons == (
        "the interceptor did not run for the whole window of boot-1.intercepted.jsonl"
        " (mitmdump exited with 1 at 12.5 s)",
    )


def test_no_meta_file_is_a_reason(tmp_path: Path) -> None:
    pcap = capture(tmp_path)
    jsonl = write_intercepted(pcap, leak()[1:], None)
    analysis = analyze([pcap], RACK, GEO, interception=[Intercepted.beside(jsonl)])

    assert any("interception.json" in r for r in judged(analysis).reasons)


def test_a_connection_the_capture_does_not_show_is_kept_and_said(tmp_path: Path) -> None:
    ghost = gzip_json_post(f"{PHONE_IP}:49999", f"{IE_IP}:443", {"imei": IMEI})
    analysis = run(tmp_path, [*leak()[1:], ghost])
    verdict = judged(analysis)

    assert [f.kind for f in verdict.findings] == [IDENTIFIER_LEAK]  # not dropped
    assert notes(analysis, INTERCEPTION_UNJOINED)
    assert any("capture does not show" in r for r in verdict.reasons)


def test_a_truncated_body_is_an_inconclusive_flow(tmp_path: Path) -> None:
    cut = message("request", CLIENT, SERVER, b"x" * 4000, truncated_to=1000)
    verdict = judged(run(tmp_path, [cut]))

    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert any("kept part of an HTTP request body" in r for r in verdict.reasons)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "boot-1.intercepted.jsonl line 1: not JSON ("),
        (b"[1, 2]", "boot-1.intercepted.jsonl line 1: not a JSON object but list"),
        (b'{"kind": "request"}', "boot-1.intercepted.jsonl line 1: client is not an address"),
        (b"\xff\xfe garbage", "boot-1.intercepted.jsonl line 1: not JSON ("),
        (b"[" * 100_000, "boot-1.intercepted.jsonl line 1: not JSON ("),
    ],
)
def test_a_line_that_names_no_connection_is_a_one_line_reason(
    tmp_path: Path, line: bytes, problem: str
) -> None:
    verdict = judged(run(tmp_path, [line, *leak()[1:]]))

    assert verdict.outcome is Outcome.INCONCLUSIVE
    (reason,) = [r for r in verdict.reasons if "intercepted.jsonl" in r]
    assert reason.startswith(problem) and "\n" not in reason and len(reason) < 200


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"content": "not base64!"}, "content is not base64"),
        ({"content_size": "12"}, "content_size is not a number of bytes"),
        ({"content_size": 5}, "content_size 5 but"),
        ({"headers": [["a"]]}, "a header is not [name, value] of strings"),
        ({"headers": {"a": "b"}}, "headers is not a list"),
        ({"status": "200"}, "status is not an HTTP status code or null"),
        ({"http_version": "SPDY/3"}, "http_version 'SPDY/3' is not one of"),
        ({"time": None}, "time is not a number"),
        ({"kind": "telepathy"}, "kind 'telepathy' is not request"),
        ({"method": 7}, "method is not a string"),
        ({"content_truncated": "no"}, "content_truncated is not true or false"),
    ],
)
def test_a_malformed_record_is_a_note_on_its_flow(
    tmp_path: Path, change: dict[str, Any], detail: str
) -> None:
    bad = {**gzip_json_post(CLIENT, SERVER, {"imei": IMEI}), **change}
    analysis = run(tmp_path, [bad])

    (said,) = notes(analysis, INTERCEPTION_UNREAD)
    assert said.startswith("a record of boot-1.intercepted.jsonl could not be read: " + detail)
    assert judged(analysis).outcome is Outcome.INCONCLUSIVE


def test_a_line_over_the_limit_is_skipped_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "MAX_LINE", 64 * 1024)
    monkeypatch.setattr(records, "READ_CHUNK", 4096)
    huge = json.dumps(message("request", CLIENT, SERVER, b"a" * 200_000)).encode()
    analysis = run(tmp_path, [huge, *leak()])

    reasons = judged(analysis).reasons
    assert any(r.startswith("boot-1.intercepted.jsonl line 1: longer than") for r in reasons)
    assert [m.encoding for m in analysis.matches] == ["tls+h2+gzip+plain"]  # read on after it


def test_many_bad_lines_are_counted_not_listed(tmp_path: Path) -> None:
    verdict = judged(run(tmp_path, [b"nope"] * 500))

    said = [r for r in verdict.reasons if "intercepted.jsonl" in r]
    assert len(said) == 21
    assert said[-1] == "boot-1.intercepted.jsonl: 480 more lines could not be read"


# --- bounded -------------------------------------------------------------------------


def _exchanges(count: int) -> list[dict[str, Any]]:
    lines = []
    for number in range(count):
        flow = f"f{number}"
        body = b'{"n":%d}' % number
        lines.append(message("request", CLIENT, SERVER, body, flow=flow))
        lines.append(message("response", CLIENT, SERVER, b"{}", flow=flow, status=200))
    return lines


def _cpu_seconds(folder: Path, lines: list) -> float:
    folder.mkdir()
    pcap = capture(folder)
    jsonl = write_intercepted(pcap, lines, meta(PHONE_IP))
    started = time.process_time()
    analysis = analyze([pcap], RACK, GEO, interception=[Intercepted.beside(jsonl)])
    spent = time.process_time() - started
    assert judged(analysis).outcome is Outcome.PASS
    return spent


def test_the_cost_grows_linearly_with_the_records(tmp_path: Path) -> None:
    small = _cpu_seconds(tmp_path / "1x", _exchanges(1000))
    large = _cpu_seconds(tmp_path / "8x", _exchanges(8000))

    assert large < 20 * max(small, 0.05)  # 8x the records; quadratic would be 64x


def test_a_hundred_thousand_refusals_are_read_in_bounds(tmp_path: Path) -> None:
    lines = [tls_failed(f"{PHONE_IP}:{1024 + n % 60000}", PINNED_SERVER, PINNED, "pinning")
             for n in range(100_000)]  # fmt: skip
    analysis = run(tmp_path, lines)

    extra = [f for f in analysis.flows if f.pcap.endswith(".jsonl")]
    assert len(extra) == 60000  # one flow per connection the capture does not show
    assert all(f.interception == "opaque" for f in extra)


def test_exchanges_left_waiting_are_closed_oldest_first_and_still_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benches.analysis.interception import replay

    monkeypatch.setattr(replay, "MAX_OPEN", 4)
    lines = [gzip_json_post(CLIENT, SERVER, {"imei": IMEI}, flow=f"f{n}") for n in range(50)]
    analysis = run(tmp_path, lines)

    assert len(analysis.matches) == 50
