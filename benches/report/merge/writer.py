"""Write the merged directory:

- ``allure-results/``: every bench's results, each labelled with its bench
  (``allure_results``); the CLI renders them as ``allure-report/``;
- ``signoff/<build>/summary.json`` and ``index.html``: the build's one answer;
- ``benches/<bench>/signoff/`` and ``benches/<bench>/pcaps/``: each bench's own
  pages and evidence packs, and the pcaps they vouch for, copied (owner-only
  files stay owner-only), so ``sha256sum -c`` still runs in ``benches/<bench>/``;
- ``index.html`` and ``merge.json``: the builds, their decisions, and the benches merged.

The directory is written only when it is new, empty, an earlier merge (it has
``merge.json``) or holds only ``allure-report/`` (a history kept between CI runs);
an earlier merge's parts are replaced, and of its Allure report only the history/ is
kept (the new report carries it on).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benches.redaction.printable import printable
from benches.redaction.safe_files import write_file
from benches.report.merge.allure_results import merge_allure_results
from benches.report.merge.copying import copy_tree
from benches.report.merge.html import render_build, render_index
from benches.report.merge.inputs import BenchResults, MergeInputError, read_bench_results
from benches.report.merge.model import MergedBuild, merged_builds, summary_json

log = logging.getLogger(__name__)

MERGE_FILE = "merge.json"
INDEX = "index.html"
MERGE_SCHEMA = "benches.report.merge.merge/1"
REPORT = "allure-report"  # an earlier merge's, or its history/ alone: generate_report checks
REPLACED = ("allure-results", "benches", "signoff", INDEX, MERGE_FILE)


@dataclass(frozen=True)
class MergeOutcome:
    directory: Path
    benches: list[BenchResults]
    builds: list[MergedBuild]
    results: int  # Allure test results merged

    @property
    def allure_results(self) -> Path:
        return self.directory / "allure-results"

    def summary(self, build: str) -> Path:
        return self.directory / "signoff" / build / "index.html"


def read_inputs(directories: Sequence[Path], out: Path) -> list[BenchResults]:
    """Every directory as a bench's results; one line for the first one that is not, for a
    bench given twice, and for an output directory among the inputs."""
    if not directories:
        raise MergeInputError("no results directories given")
    benches: list[BenchResults] = []
    for directory in directories:
        bench = read_bench_results(directory)
        for earlier in benches:
            if earlier.name == bench.name:
                raise MergeInputError(
                    f"{printable(str(directory))}: bench {printable(bench.name)} again "
                    f"(its results are already in {printable(str(earlier.directory))})"
                )
        if _overlaps(directory, out):
            raise MergeInputError(
                f"{printable(str(out))}: the merge would be written into or around the "
                f"results it reads ({printable(str(directory))})"
            )
        benches.append(bench)
    return benches


def write_merge(
    directories: Sequence[Path], out: Path, *, raw_identifiers: bool = False
) -> MergeOutcome:
    benches = read_inputs(directories, out)
    if not raw_identifiers:
        for bench in benches:
            raw = [b for b in bench.builds.values() if b.identifiers_raw]
            if raw:
                raise MergeInputError(
                    f"{printable(str(raw[0].directory / 'summary.json'))}: identifiers are "
                    "raw (signed off with --show-identifiers); merge with "
                    "--show-identifiers to accept them"
                )
    _prepare(out)
    folders = bench_folders([bench.name for bench in benches])
    for bench, folder in zip(benches, folders, strict=True):
        left_out = copy_tree(bench.directory / "signoff", out / "benches" / folder / "signoff", out)
        if bench.pcaps.is_dir():
            pcaps = out / "benches" / folder / "pcaps"
            left_out += copy_tree(bench.pcaps, pcaps, out, owner_only=True)
        if left_out:
            log.warning("not copied (not a plain file or folder): %s", ", ".join(left_out[:5]))
    results = merge_allure_results(benches, out / "allure-results")
    builds = merged_builds(benches, folders)
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    pages = []
    for build in builds:
        data = summary_json(build, generated)
        pages.append(data)
        place = out / "signoff" / build.build
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        write_file(place / "summary.json", text, root=out)
        write_file(place / "index.html", render_build(data), root=out)
    index = {
        "schema": MERGE_SCHEMA,
        "generated": generated,
        "benches": [
            {"bench": bench.name, "folder": f"benches/{folder}", "results": str(bench.directory)}
            for bench, folder in zip(benches, folders, strict=True)
        ],
        "builds": [
            {
                "build": build.build,
                "decision": build.decision.label,
                "summary": f"signoff/{build.build}/index.html",
            }
            for build in builds
        ],
    }
    write_file(out / INDEX, render_index(pages), root=out)
    write_file(out / MERGE_FILE, json.dumps(index, indent=2, ensure_ascii=False) + "\n", root=out)
    return MergeOutcome(out, benches, builds, results)


def bench_folders(names: Sequence[str]) -> list[str]:
    """A folder name per bench: its name with anything but letters, digits, '.', '_' and
    '-' made '_', numbered when two come out the same."""
    folders: list[str] = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "bench"
        folder, number = base, 2
        while folder in folders:
            folder, number = f"{base}-{number}", number + 1
        folders.append(folder)
    return folders


def _overlaps(directory: Path, out: Path) -> bool:
    a, b = directory.resolve(), out.resolve()
    return a == b or a in b.parents or b in a.parents


def _prepare(out: Path) -> None:
    """``out`` ready for a new merge: new, empty, holding only an Allure report (or its
    kept history), or an earlier merge minus its parts."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise MergeInputError(f"{printable(str(out))}: not a directory")
    names = {entry.name for entry in out.iterdir()} if out.is_dir() else set()
    if names - {REPORT} and not (out / MERGE_FILE).is_file():
        raise MergeInputError(
            f"{printable(str(out))}: refusing to write into it: not empty and not an earlier "
            f"merge (no {MERGE_FILE})"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name in REPLACED:
        _remove(out / name)
    # The earlier report goes but for its history: a report that then fails to render
    # must not leave the earlier merge's pages standing as if they were this one's.
    report = out / REPORT
    if report.is_symlink() or report.is_file():
        report.unlink()
    elif report.is_dir():
        for part in report.iterdir():
            if part.name != "history" or part.is_symlink():
                _remove(part)


def _remove(part: Path) -> None:
    if part.is_symlink() or part.is_file():
        part.unlink()
    elif part.is_dir():
        shutil.rmtree(part)
