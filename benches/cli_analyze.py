"""``bench analyze CAPTURE... --devices FILE --firmware FILE [--json]``.

Judges captures from anywhere against a build's policy. Exit code 0 pass,
1 fail, 2 inconclusive or unusable input. ``--json`` prints
``{"verdict", "reasons", "findings", "flows", "dns_queries", "captures",
"geo", "build"}``; identifiers are masked in both outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path, PurePath
from typing import Any

from benches.cli import CommandError
from benches.gateway.analyzer import Analysis, analyze
from benches.gateway.geo import GeoDatabase, GeoDataError
from benches.gateway.pcapread import CaptureError
from benches.inventory import InventoryError, load_manifest, load_rack
from benches.policy import FAIL, PASS, Verdict, evaluate

EXIT_CODES = {PASS: 0, FAIL: 1}
EXIT_INCONCLUSIVE = 2


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
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        rack = load_rack(args.devices)
        manifest = load_manifest(args.firmware)
        overlay = rack.virtual.endpoints if rack.virtual else ()
        geo = GeoDatabase(overlay, mmdb=args.mmdb or None)
        analysis = analyze(args.captures, rack, geo)
    except (CaptureError, InventoryError, GeoDataError) as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"{error.filename or ''}: {error.strerror or error}") from None
    verdict = evaluate(analysis, manifest.policy, expected_canaries=args.canary)
    document = result_document(verdict, analysis, geo.info(), manifest.build)
    if args.json:
        # Streamed, not one big string: a night of captures gives a large document.
        json.dump(document, sys.stdout, indent=2)
        print()
    else:
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
        print(render_text(document))
    return EXIT_CODES.get(verdict.verdict, EXIT_INCONCLUSIVE)


def result_document(
    verdict: Verdict, analysis: Analysis, geo: dict[str, Any], build: str
) -> dict[str, Any]:
    """The JSON contract: verdict, findings and flows first, then the supporting detail."""
    detail = analysis.to_dict()
    return {
        "verdict": verdict.verdict,
        "findings": [f.to_dict() for f in verdict.findings],
        "flows": detail["flows"],
        "reasons": list(verdict.reasons),
        "dns_queries": detail["dns_queries"],
        "captures": detail["captures"],
        "build": build,
        "geo": geo,
    }


def render_text(document: dict[str, Any]) -> str:
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
    lines.append(f"flows ({len(document['flows'])}):")
    header = ("PCAP", "PKT", "PROTO", "DESTINATION", "NAME FROM", "COUNTRY", "OWNER", "BYTES")
    rows = [header]
    for flow in document["flows"]:
        destination = f"{flow['dst_host'] or '-'} {flow['dst_ip']}:{flow['dst_port']}"
        rows.append(
            (
                PurePath(flow["pcap"]).name,
                str(flow["first_packet"]),
                flow["protocol"],
                destination,
                flow["name_source"] or "-",
                flow["country"] or "?",
                _clip(flow["owner"] or "?", 24),
                str(flow["bytes"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    geo = document["geo"]
    lines.append(f"geo: {geo['source']} via {geo['package']}; {geo['attribution']}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
