"""Allure's run-level files: categories.json, environment.properties and executor.json.

They go into the allure-results directory beside the test results, where the
Allure 2 command-line tool reads them when it renders the report:

- categories.json sorts failures into Data leak, Region violation, Capture
  blind / inconclusive, Bench fault and Device fault;
- environment.properties says what was tested, where, with which geo data and
  which framework commit;
- executor.json, only in CI, links the report back to the CI build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benches.analysis.attribution.geo import GeoDatabase
from benches.inventory.models import Manifest, Rack
from benches.policy.enforcement import InconclusiveCycle
from benches.rack.adb.phone import PhoneError
from benches.rack.health import BenchFault
from benches.redaction.safe_files import read_file, write_file
from benches.report.allure.properties import parse_properties, properties_text
from benches.report.provenance import framework_version, git_commit

CATEGORIES_FILE = "categories.json"
ENVIRONMENT_FILE = "environment.properties"
EXECUTOR_FILE = "executor.json"

# Allure 2 matches a regex against the WHOLE message (Java's Matcher.matches,
# with DOTALL), so every pattern is wrapped in (?s).* ... .* to find a phrase
# anywhere in a multi-line message. The phrases are Finding.message()'s words.
_LEAK_PHRASES = r"(?:in cleartext to|not an identifier recipient)"
_REGION_PHRASES = r"(?:a country the policy does not allow|not an allowed host)"


def _raised(exception: type[BaseException]) -> str:
    """A status message of this exception, as allure-pytest writes it ("pkg.mod.Name: ...")."""
    return rf"(?s)(?:\w+\.)*{exception.__name__}\b.*"


def categories() -> list[dict[str, Any]]:
    """Allure's custom categories, most specific first.

    Some Allure versions put a result in the first category that matches, others
    in every one; a leak that also broke the region policy must show under Data
    leak only, so Region violation excludes leak messages itself.
    """
    return [
        {
            "name": "Data leak",
            "matchedStatuses": ["failed"],
            "messageRegex": rf"(?s).*{_LEAK_PHRASES}.*",
        },
        {
            "name": "Region violation",
            "matchedStatuses": ["failed"],
            "messageRegex": rf"(?s)(?!.*{_LEAK_PHRASES}).*{_REGION_PHRASES}.*",
        },
        {
            "name": "Capture blind / inconclusive",
            "matchedStatuses": ["broken"],
            "messageRegex": _raised(InconclusiveCycle),
        },
        {"name": "Bench fault", "matchedStatuses": ["broken"], "messageRegex": _raised(BenchFault)},
        {
            "name": "Device fault",
            "matchedStatuses": ["broken"],
            "messageRegex": _raised(PhoneError),
        },
    ]


def environment(rack: Rack, manifest: Manifest, geo: GeoDatabase) -> dict[str, str]:
    """What this run tested, on which bench, with which data and code."""
    build = manifest.build
    values = {
        "bench": rack.bench.name,
        "firmware.builds": build,
        f"firmware.{build}.fingerprint": manifest.fingerprint,
        f"firmware.{build}.region": manifest.region,
        f"firmware.{build}.manifest": manifest.path.name,
        "framework.version": f"benches {framework_version()}",
        "framework.commit": git_commit(),
    }
    info = geo.info()
    if info.get("overlay"):
        values["geo.overlay"] = (
            f"{info['overlay']} addresses placed by the rack file's virtual endpoints"
        )
    for source in info["sources"]:
        prefix = f"geo.{source.get('name', 'source')}"
        date = source.get("date") or (
            f"not recorded (package built {source['built']})" if source.get("built") else "unknown"
        )
        values[f"{prefix}.data"] = str(source.get("source") or source.get("database") or "")
        values[f"{prefix}.date"] = str(date)
        values[f"{prefix}.package"] = str(source.get("package", ""))
        values[f"{prefix}.license"] = str(source.get("license", ""))
    return values


def executor(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Allure's executor block for the CI build running us; None outside CI.

    BENCH_REPORT_URL, when set, is where the published report will live.
    """
    report_url = env.get("BENCH_REPORT_URL", "")
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repository = env.get("GITHUB_REPOSITORY", "")
        number = env.get("GITHUB_RUN_NUMBER", "")
        block: dict[str, Any] = {
            "name": "GitHub Actions",
            "type": "github",
            "url": f"{server}/{repository}",
            "buildName": f"{env.get('GITHUB_WORKFLOW', 'workflow')} #{number}",
            "buildUrl": f"{server}/{repository}/actions/runs/{env.get('GITHUB_RUN_ID', '')}",
        }
    elif env.get("GITLAB_CI"):
        number = env.get("CI_PIPELINE_IID", "")
        block = {
            "name": "GitLab CI",
            "type": "gitlab",
            "url": env.get("CI_PROJECT_URL", ""),
            "buildName": f"{env.get('CI_JOB_NAME', 'job')} #{number}",
            "buildUrl": env.get("CI_JOB_URL", env.get("CI_PIPELINE_URL", "")),
        }
        report_url = report_url or env.get("CI_PAGES_URL", "")
    elif env.get("CI", "").lower() in ("true", "1", "yes"):
        number = env.get("BUILD_NUMBER", "")
        block = {"name": "CI", "buildName": f"CI build {number}".strip()}
    else:
        return None
    if number.isdigit():
        block["buildOrder"] = int(number)
    block["reportName"] = f"Firmware privacy sign-off {block['buildName']}".strip()
    if report_url:
        block["reportUrl"] = report_url
    return block


def write_run_metadata(
    results: Path, rack: Rack, manifest: Manifest, env: Mapping[str, str] | None = None
) -> None:
    """Write the three files into `results`, merging with what earlier builds wrote there."""
    # Nothing is followed or written through a link left in the results (safe_files).
    write_file(results / CATEGORIES_FILE, json.dumps(categories(), indent=2) + "\n", root=results)
    geo = GeoDatabase.for_rack(rack)
    try:
        values = environment(rack, manifest, geo)
    finally:
        geo.close()
    path = results / ENVIRONMENT_FILE
    try:
        earlier = parse_properties(read_file(path).decode("latin-1"))
    except FileNotFoundError:
        earlier = {}
    text = properties_text(merge_values(earlier, values))
    write_file(path, text.encode("latin-1"), root=results)
    block = executor(os.environ if env is None else env)
    if block is not None:
        write_file(results / EXECUTOR_FILE, json.dumps(block, indent=2) + "\n", root=results)


VALUE_SEPARATOR = " | "


def merge_values(earlier: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """Several builds share one allure-results: a key they disagree on lists every value."""
    merged = dict(earlier)
    for key, value in new.items():
        seen = merged[key].split(VALUE_SEPARATOR) if merged.get(key) else []
        merged[key] = VALUE_SEPARATOR.join(seen if value in seen else [*seen, value])
    return merged
