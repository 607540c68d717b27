"""``bench analyze CAPTURE... --devices FILE --firmware FILE [--json]``.

Judges captures from anywhere against a build's policy. Exit code 0 pass,
1 fail, 2 inconclusive or unusable input. ``--json`` prints
``{"verdict", "reasons", "findings", "flows", "dns_queries", "captures",
"geo", "build", "not_judged", "interception"}`` (``interception``: null without
``--intercepted``; else its files, ports, problems and per phone the TLS flows
opened, opaque or not tried and the QUIC attempts blocked); identifiers are masked
in both outputs, and phones (``device``) are named by their labels ("SI…1"), not
their serials. Only the rack phones' flows are judged; ``not_judged`` counts the others (``flows``,
``hosts``, their ``addresses``), and each flow says whether it was (``judged``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path, PurePath
from typing import Any, TextIO

from benches.analysis.analyzer import analyze
from benches.analysis.attribution.embedded import describe
from benches.analysis.attribution.geo import GeoDatabase, GeoDataError
from benches.analysis.gcpause import paused_gc
from benches.analysis.interception.reading import Intercepted, tls_text
from benches.analysis.jsonrows import RawJson, RowEncoder
from benches.analysis.parallel import WorkerLost, default_jobs
from benches.analysis.pcap.files import CaptureError
from benches.analysis.protocols.notes import ADDRESS_CHANGED
from benches.analysis.results import Analysis
from benches.cli.exits import CommandError, exit_now
from benches.inventory import InventoryError, load_manifest, load_rack
from benches.policy.evaluation import evaluate
from benches.policy.verdict import Outcome, Verdict
from benches.redaction.masks import RAW_WARNING, show_raw
from benches.redaction.printable import printable
from benches.redaction.rack_masker import forget_rack, use_rack

EXIT_CODES = {Outcome.PASS: 0, Outcome.FAIL: 1}
EXIT_INCONCLUSIVE = 2
WRITE_ITEMS = 1000  # list items encoded and written at a time by --json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="judge captures against a firmware's policy",
        description=(
            "Analyse pcap/pcapng captures of the rack's phones and judge them against "
            "the firmware manifest's policy. Exit 0 pass, 1 fail, 2 inconclusive or "
            "unusable input."
        ),
    )
    parser.add_argument("captures", nargs="+", type=Path, metavar="CAPTURE")
    parser.add_argument(
        "--devices",
        type=Path,
        default=Path("devices.yaml"),
        metavar="FILE",
        help="the rack (default: devices.yaml)",
    )
    parser.add_argument(
        "--firmware",
        type=Path,
        required=True,
        metavar="FILE",
        help="the firmware manifest whose policy applies",
    )
    parser.add_argument(
        "--canary",
        action="append",
        default=[],
        metavar="NAME",
        help="a DNS name the phone must have looked up in the captures (repeatable)",
    )
    parser.add_argument(
        "--mmdb",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a MaxMind or DB-IP .mmdb file to use instead of the bundled GeoLite2 data "
        "(repeatable: e.g. a country and an ASN database)",
    )
    parser.add_argument(
        "--intercepted",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="what a TLS interceptor decrypted of these captures (X.intercepted.jsonl; its "
        "X.interception.json beside it is read too), searched like cleartext (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="processes that read the captures, each a share of the flows; the result is "
        "the same for any N (default: one per CPU, at most one per 8 MiB of capture; "
        "1: read in this process)",
    )
    parser.set_defaults(func=run)


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}")
    return jobs


def run(args: argparse.Namespace) -> int:
    # The analysis and the document made of it are many long-lived objects without
    # cycles: the cycle collector would only walk them again and again (gcpause.py).
    with paused_gc():
        try:
            return _run(args)
        finally:
            forget_rack()  # a caller in the same process gets its logging back as it was


def _run(args: argparse.Namespace) -> int:
    if show_raw():
        print(f"bench: {RAW_WARNING}", file=sys.stderr)
    try:
        rack = load_rack(args.devices)
        use_rack(rack)  # findings, flows and log lines name phones by label ("SI…1")
        manifest = load_manifest(args.firmware)
        geo = GeoDatabase.for_rack(rack, mmdb=args.mmdb or None)
        jobs = args.jobs if args.jobs is not None else default_jobs(args.captures)
        intercepted = [Intercepted.beside(path) for path in args.intercepted]
        analysis = analyze(args.captures, rack, geo, jobs, intercepted)
    except WorkerLost as error:
        # Part of the flows was never read: nothing backs a verdict either way.
        print(f"bench: inconclusive: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    except (CaptureError, InventoryError, GeoDataError) as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"{error.filename or ''}: {error.strerror or error}") from None
    verdict = evaluate(analysis, manifest.policy, expected_canaries=args.canary)
    document = result_document(verdict, analysis, geo.info(), manifest.build, rows=args.json)
    if args.json:
        write_json(document, sys.stdout)
    else:
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
        print(render_text(document))
    code = EXIT_CODES.get(verdict.outcome, EXIT_INCONCLUSIVE)
    if args.exit_when_done:  # nothing runs after this command: leave the analysis unfreed
        exit_now(code)
    return code


def result_document(
    verdict: Verdict, analysis: Analysis, geo: dict[str, Any], build: str, *, rows: bool = False
) -> dict[str, Any]:
    """The JSON contract: verdict, findings and flows first, then the supporting detail.

    The flows and DNS queries are iterators, made one at a time as they are written:
    a night of captures has tens of thousands of each. With ``rows``, they come as
    their JSON text already (:mod:`~benches.analysis.jsonrows`), for :func:`write_json`.
    """
    scrub = analysis.scrubber()
    flows: Iterator[Any] = analysis.flow_dicts(scrub)
    queries: Iterator[Any] = analysis.query_dicts(scrub)
    if rows:
        encoder = RowEncoder(_encoder(), scrub)
        flows, queries = map(encoder.flow, analysis.flows), map(encoder.query, analysis.dns_queries)
    return {
        "verdict": verdict.outcome.value,
        "findings": [f.to_dict() for f in verdict.findings],
        "flows": flows,
        "reasons": list(verdict.reasons),
        "dns_queries": queries,
        "captures": [c.to_dict() for c in analysis.captures],
        "build": build,
        "geo": geo,
        "not_judged": analysis.not_judged(),
        "interception": analysis.interception_dict(),
    }


def write_json(document: dict[str, Any], out: TextIO) -> None:
    """The document, a top-level key per line and a list item (a flow, a finding) per line.

    Lists (and iterators, written as lists) are streamed a thousand items at a time,
    not as one big string: a night of captures gives a large document.
    ``json.dump(..., indent=2)`` would take Python's pure-Python encoder, which costs
    seconds for tens of thousands of flows; each item here goes through the C encoder,
    but for :class:`RawJson` items (flows and queries), which are JSON text already.
    """
    encode = _raw_or(_encoder())
    out.write("{")
    for number, (key, value) in enumerate(document.items()):
        out.write(f"{',' if number else ''}\n  {encode(key)}: ")
        if not isinstance(value, list | Iterator):
            out.write(encode(value))
            continue
        items = iter(value)
        batch = list(islice(items, WRITE_ITEMS))
        if not batch:
            out.write("[]")
            continue
        out.write("[\n    " + ",\n    ".join(_texts(batch, encode)))
        while batch := list(islice(items, WRITE_ITEMS)):
            out.write(",\n    " + ",\n    ".join(_texts(batch, encode)))
        out.write("\n  ]")
    out.write("\n}\n")


def _texts(batch: list[Any], encode: Callable[[Any], str]) -> Iterable[str]:
    """The items' JSON texts: a batch of :class:`RawJson` alone (flows, queries) as it is,
    without a call per item."""
    if set(map(type, batch)) == {RawJson}:
        return batch
    return map(encode, batch)


def _raw_or(encode: Callable[[Any], str]) -> Callable[[Any], str]:
    """``encode``, but for :class:`RawJson`, which is JSON already."""

    def item(value: Any) -> str:
        return value if type(value) is RawJson else encode(value)

    return item


def _encoder() -> Callable[[Any], str]:
    """``JSONEncoder(separators=(", ", ": ")).encode``, calling the C encoder directly when
    there is one: the Python layer around it costs a fifth of encoding a flow."""
    encoder = json.JSONEncoder(separators=(", ", ": "))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    c_encode = make(
        {}, encoder.default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
        False, False, True,
    )  # fmt: skip  # markers, default, strings, indent, separators, sort, skip, allow_nan

    def encode(value: Any) -> str:
        return "".join(c_encode(value, 0))

    return encode


def render_text(document: dict[str, Any]) -> str:
    flows = list(document["flows"])
    findings = document["findings"]
    reasons = document["reasons"]
    lines = [f"verdict: {document['verdict'].upper()} (build {document['build']})"]
    if findings:
        lines.append(f"findings ({len(findings)}):")
        for finding in findings:
            lines.append(f"  {finding['kind']}: {finding['message']}")
            if finding["evidence"]:
                lines.append(f"      evidence: {finding['evidence']}")
    if reasons:
        lines.append(f"cannot back a pass ({len(reasons)}):")
        lines += [f"  - {r}" for r in reasons]
    lines += _phones_text(document, flows)
    lines.append(f"flows ({len(flows)}):")
    header = ("PCAP", "PKT", "PROTO", "DESTINATION", "NAME FROM", "COUNTRY", "OWNER", "BYTES")
    rows: list[tuple[str, ...]] = [header]
    for flow in flows:
        destination = f"{flow['dst_host'] or '-'} {flow['dst_ip']}:{flow['dst_port']}"
        embedded = flow.get("embedded_ipv4")
        if embedded:
            destination += f" ({describe(embedded['kind'], embedded['address'])})"
        cells = (
            PurePath(flow["pcap"]).name,
            str(flow["first_packet"]),
            flow["protocol"],
            destination,
            flow["name_source"] or "-",
            flow["country"] or "?",
            _clip(printable(flow["owner"] or "?"), 24),
            str(flow["bytes"]),
        )
        rows.append(tuple(map(printable, cells)))  # from captures and databases: escaped
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    geo = document["geo"]
    lines.append(f"geo: {geo['source']} via {geo['package']}; {geo['attribution']}")
    # Names, owners, evidence and pcap names come from captures and databases: each
    # line is escaped (the table's cells already were, so its columns line up).
    return "\n".join(map(printable, lines))


def _phones_text(document: dict[str, Any], flows: list[Any]) -> list[str]:
    """Which phones moved address, and how much other hosts' traffic was left unjudged."""
    lines: list[str] = []
    moved = dict.fromkeys(
        f"  - {flow['device']}: {note['detail']}"
        for flow in flows
        for note in flow["notes"]
        if note["kind"] == ADDRESS_CHANGED
    )
    if moved:
        lines.append("phones at an address devices.yaml does not give them:")
        lines += list(moved)
    interception = document.get("interception")
    if interception:
        lines.append(f"inside TLS: {', '.join(map(str, interception['files']))}")
        for phone, counts in interception["phones"].items():
            lines.append(f"  - {phone}: {tls_text(counts)}")
        opaque = dict.fromkeys(
            f"    opaque: {flow['dst_host'] or flow['dst_ip']}:{flow['dst_port']}"
            for flow in flows
            if flow.get("interception") == "opaque"
        )
        lines += list(opaque)
    others = document.get("not_judged") or {}
    if others.get("flows"):
        lines.append(f"{others['flows']} flows of {others['hosts']} other hosts not judged")
    return lines


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
