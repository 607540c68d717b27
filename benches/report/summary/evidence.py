"""The evidence pack: what a privacy officer or an authority needs to check a sign-off later.

Written to ``reports/signoff/<build>/evidence/``, every file owner-only (0600):

- ``pcaps.json`` and ``SHA256SUMS``: every pcap of the build, by path relative
  to the reports directory, with its SHA-256 now and when it was judged, and
  the capture's packet and kernel-drop counts. The pcaps are not copied: they
  hold raw identifiers, and one owner-only copy is one to guard. Archive
  ``reports/pcaps/<build>/`` with the pack; ``cd reports && sha256sum -c
  signoff/<build>/evidence/SHA256SUMS`` proves they are the judged ones;
- ``names.json``: the DNS, SNI and HTTP Host maps (name -> addresses), per cycle
  and merged;
- ``geo.json``: the geo sources, their versions, dates and licences, and the
  virtual rack's overlay;
- ``policy.json``: the policy as applied (countries expanded, hosts, recipients);
- ``identities.json``: the phones' identities as SHA-256 of "kind:value", never raw;
- ``provenance.json``: framework version, git commit, and the hashes of the
  manifest and the rack file;
- ``interception.json`` and ``interception/``: for each intercepted cycle, the TLS
  flows opened, opaque or not tried and the QUIC attempts blocked, and the
  interceptor's files by path and SHA-256; its flow file (``X.flows``, decrypted
  messages: raw identifiers) and key log (``X.keylog``, which opens the pcap in
  Wireshark) are copied into ``interception/`` owner-only, like the pcaps they go with.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from benches.analysis.attribution.geo import GeoDatabase
from benches.inventory.models import Manifest, Rack
from benches.inventory.regions import COUNTRY_GROUPS
from benches.redaction.private_files import write_private_text
from benches.redaction.safe_files import PRIVATE, make_directories, read_file, write_file
from benches.report.cycle_entry import sha256_file
from benches.report.summary.identities import identity_hashes
from benches.report.summary.model import BuildSummary

FILES = {
    "pcaps.json": "every pcap of the build: path, SHA-256 (now and when judged), drop statistics",
    "SHA256SUMS": "the pcaps' SHA-256, for `sha256sum -c` run in the reports directory",
    "names.json": "DNS, SNI and HTTP Host maps (name -> addresses), per cycle and merged",
    "geo.json": "geo sources: database, version, date, licence; the rack's overlay",
    "policy.json": "the policy as applied: allowed countries expanded, hosts, recipients",
    "identities.json": "each phone's identities as SHA-256 of 'kind:value', never raw",
    "provenance.json": "framework version, git commit, manifest and rack file hashes",
    "interception.json": "per intercepted cycle: TLS flows opened, opaque, not tried; QUIC "
    "blocked; the interceptor's files and their SHA-256",
    "interception/": "each intercepted cycle's flow file (raw identifiers) and TLS key log, 0600",
}
# The interceptor's files copied into the pack (the messages and meta are listed only).
COPIED = ("flows", "keylog")


def write_evidence(
    summary: BuildSummary, directory: Path, framework: dict[str, str]
) -> dict[str, str]:
    """Write the pack; ``framework`` is {version, commit}. Returns {file name: what it holds}."""
    make_directories(directory, summary.reports)
    pcaps = pcap_list(summary)
    _write(directory / "pcaps.json", _json({"paths_relative_to": "reports", "pcaps": pcaps}))
    sums = "".join(f"{p['sha256']}  {p['path']}\n" for p in pcaps if p["sha256"])
    _write(directory / "SHA256SUMS", sums)
    _write(directory / "names.json", _json(name_maps(summary)))
    _write(directory / "geo.json", _json(geo_info(summary.rack)))
    _write(directory / "policy.json", _json(policy_info(summary.manifest)))
    _write(directory / "identities.json", _json(identity_hashes(summary.rack)))
    _write(directory / "provenance.json", _json(provenance(summary, framework)))
    _write(directory / "interception.json", _json(interception_info(summary, directory)))
    return dict(FILES)


def interception_info(summary: BuildSummary, directory: Path) -> dict[str, Any]:
    """Each intercepted cycle's TLS counts and files; its flow file and key log copied
    (owner-only) into ``interception/`` as ``<pcap stem>.flows`` and ``.keylog``."""
    cycles = []
    for cycle in summary.judged():
        files = cycle.data.get("interception")
        if not files:
            continue
        copies = {}
        for name in COPIED:
            source = Path(str(files.get(name) or ""))
            copy = directory / "interception" / source.name
            try:
                data = read_file(source)
            except OSError as error:
                copies[name] = f"not copied: {error.strerror or error}"
                continue
            make_directories(copy.parent, summary.reports)
            write_file(copy, data, root=summary.reports, mode=PRIVATE)
            copies[name] = f"interception/{source.name}"
        cycles.append(
            {
                "phone": cycle.phone.slot,
                "device": cycle.phone.label,
                "cycle": cycle.column.kind,
                "index": cycle.column.index,
                "tls": cycle.data.get("tls"),
                "files": {k: v for k, v in files.items()},
                "copies": copies,
            }
        )
    return {
        "about": "TLS interception: per cycle, the phone's TLS flows the interceptor opened,"
        " left opaque (refused its certificate) or did not try, and the QUIC attempts blocked."
        " The key log opens the cycle's pcap: tshark -o tls.keylog_file:X.keylog -r X.pcap",
        "cycles": cycles,
    }


def pcap_list(summary: BuildSummary) -> list[dict[str, Any]]:
    """The judged pcaps, then any other pcap of the build (an interrupted window's)."""
    listed: dict[Path, dict[str, Any]] = {}
    for cycle in summary.judged():
        entry = cycle.data
        path = Path(str(entry.get("pcap")))
        health = entry.get("health") or {}
        listed[path.resolve()] = {
            **_file(summary.reports, path),
            "phone": cycle.phone.slot,
            "device": cycle.phone.label,
            "cycle": cycle.column.kind,
            "index": cycle.column.index,
            "attempt": entry.get("attempt", 1),
            "verdict": entry.get("verdict"),
            "judged_sha256": entry.get("pcap_sha256"),
            "packets": health.get("packets"),
            "kernel_drops": health.get("kernel_drops"),
            "capture_died": health.get("died"),
            "capture_error": health.get("error"),
        }
    pcap_dir = summary.reports / "pcaps" / summary.manifest.build
    for path in sorted(pcap_dir.glob("*.pcap")) if pcap_dir.is_dir() else ():
        if path.resolve() not in listed:
            listed[path.resolve()] = {
                **_file(summary.reports, path),
                "verdict": None,
                "note": "not a final window (interrupted and run again)",
            }
    for item in listed.values():
        judged = item.get("judged_sha256")
        item["unchanged_since_judged"] = None if not judged else judged == item["sha256"]
    return list(listed.values())


def name_maps(summary: BuildSummary) -> dict[str, Any]:
    merged: dict[str, dict[str, set[str]]] = {"dns": {}, "sni": {}, "host": {}}
    cycles = []
    for cycle in summary.judged():
        names = cycle.data.get("names") or {}
        cycles.append(
            {
                "phone": cycle.phone.slot,
                "device": cycle.phone.label,
                "cycle": cycle.column.kind,
                "index": cycle.column.index,
                **names,
            }
        )
        for kind, table in names.items():
            for name, addresses in table.items():
                merged.setdefault(kind, {}).setdefault(name, set()).update(addresses)
    return {
        "about": "name -> addresses. dns: names the phone looked up, with the answered "
        "addresses it then contacted; sni: TLS server names; host: HTTP Host headers",
        "merged": {k: {n: sorted(a) for n, a in sorted(t.items())} for k, t in merged.items()},
        "per_cycle": cycles,
    }


def geo_info(rack: Rack) -> dict[str, Any]:
    overlay = rack.virtual.endpoints if rack.virtual else ()
    geo = GeoDatabase.for_rack(rack)
    try:
        info = geo.info()
    finally:
        geo.close()
    info["overlay"] = [
        {"host": e.host, "address": e.address, "country": e.country, "owner": e.owner}
        for e in overlay
    ]
    return info


def policy_info(manifest: Manifest) -> dict[str, Any]:
    policy = manifest.policy
    allowed = policy.allowed_countries
    return {
        "manifest": manifest.path.name,
        "build": manifest.build,
        "fingerprint": manifest.fingerprint,
        "region": manifest.region,
        "image": {"path": manifest.image.path, "sha256": manifest.image.sha256}
        if manifest.image
        else None,
        "allowed_countries": sorted(allowed),
        "includes_groups": sorted(name for name, g in COUNTRY_GROUPS.items() if g <= allowed),
        "allowed_hosts": list(policy.allowed_hosts),
        "identifier_recipients": list(policy.identifier_recipients),
        "local": "the bench's own network (loopback, private, link-local) is local, not a country",
    }


def provenance(summary: BuildSummary, framework: dict[str, str]) -> dict[str, Any]:
    return {
        "framework_version": framework["version"],
        "git_commit": framework["commit"],
        "python": platform.python_version(),
        "bench": summary.rack.bench.name,
        "manifest": {
            "file": summary.manifest.path.name,
            "sha256": sha256_file(summary.manifest.path),
        },
        # The rack file holds raw identifiers: only its hash goes into the pack.
        "rack_file": {"file": summary.rack.path.name, "sha256": sha256_file(summary.rack.path)},
        "generated": summary.generated.isoformat(timespec="seconds"),
        "pytest_exit": summary.pytest_exit,
    }


def _file(reports: Path, path: Path) -> dict[str, Any]:
    try:
        shown = path.resolve().relative_to(reports.resolve()).as_posix()
    except ValueError:
        shown = str(path)
    size = path.stat().st_size if path.exists() else None
    return {"path": shown, "bytes": size, "sha256": sha256_file(path)}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _write(path: Path, text: str) -> None:
    """Owner-only from the first byte: the pack is evidence."""
    write_private_text(path, text)
