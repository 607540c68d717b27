"""Several benches' allure-results as one, each test result labelled with its bench.

Allure folds results that share a ``historyId`` into one test with retries, and
keeps history by it: the same test on two benches would show as one test that
passed on its second try. So each result's ``historyId`` and ``testCaseId``
become a hash of the bench's name and the original, and the result gains the
parameter ``bench`` (shown on the test's page), the label ``parentSuite`` (the
Suites tab groups by bench) and the label ``host`` (the Timeline does). Containers
and attachments are copied as they are (their names are UUIDs); each bench's own
``history/`` is left out: its ids are the unlabelled ones, and the merged report
carries its own history.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benches.redaction.printable import printable
from benches.redaction.safe_files import PRIVATE, PUBLIC, UnsafePath, read_file, write_file
from benches.report.allure.metadata import (
    CATEGORIES_FILE,
    ENVIRONMENT_FILE,
    EXECUTOR_FILE,
    categories,
    executor,
    merge_values,
)
from benches.report.allure.properties import parse_properties, properties_text
from benches.report.merge.copying import copy_file
from benches.report.merge.inputs import BenchResults, MergeInputError, read_json

RESULT_SUFFIX = "-result.json"
RUN_FILES = frozenset({CATEGORIES_FILE, ENVIRONMENT_FILE, EXECUTOR_FILE, "history"})
MAX_RESULT_BYTES = 64 * 1024 * 1024


def bench_history_id(bench: str, history_id: str) -> str:
    """The id Allure folds retries and keeps history by, for this test on this bench."""
    return hashlib.md5(f"{bench}\x00{history_id}".encode(), usedforsecurity=False).hexdigest()


def labelled(result: dict[str, Any], bench: str) -> dict[str, Any]:
    """An allure-pytest result as this bench's: its own ids, parameter and labels."""
    result = dict(result)
    for key in ("historyId", "testCaseId"):
        original = result.get(key) or result.get("fullName") or result.get("name") or ""
        result[key] = bench_history_id(bench, str(original))
    parameters = [p for p in result.get("parameters") or () if p.get("name") != "bench"]
    result["parameters"] = [{"name": "bench", "value": bench}, *parameters]
    labels = [
        label
        for label in result.get("labels") or ()
        if label.get("name") not in ("parentSuite", "host")
    ]
    result["labels"] = [
        {"name": "parentSuite", "value": bench},
        {"name": "host", "value": bench},
        *labels,
    ]
    return result


def merge_allure_results(benches: Sequence[BenchResults], target: Path) -> int:
    """Write every bench's allure-results into ``target`` (a fresh folder); returns the
    number of test results. A damaged result file is refused in one line."""
    environment: dict[str, str] = {}
    results = 0
    origin: dict[str, Path] = {}
    for bench in benches:
        source = bench.allure_results
        with os.scandir(source) as entries:
            names = sorted(e.name for e in entries if e.is_file(follow_symlinks=False))
        for name in names:
            if name in RUN_FILES:
                continue
            path = source / name
            if name in origin:
                raise MergeInputError(
                    f"{printable(str(path))}: also in {printable(str(origin[name]))} "
                    "(the same results in two benches' directories)"
                )
            origin[name] = path
            if name.endswith(RESULT_SUFFIX):
                _write_result(path, target / name, target, bench.name)
                results += 1
            else:
                copy_file(path, target / name, target)
        environment = merge_values(environment, _environment(source, bench.name))
    write_file(target / CATEGORIES_FILE, json.dumps(categories(), indent=2) + "\n", root=target)
    text = properties_text(environment)
    write_file(target / ENVIRONMENT_FILE, text.encode("latin-1", "replace"), root=target)
    block = executor(os.environ)
    if block is not None:
        write_file(target / EXECUTOR_FILE, json.dumps(block, indent=2) + "\n", root=target)
    return results


def _write_result(source: Path, target: Path, root: Path, bench: str) -> None:
    shown = printable(str(source))
    result = read_json(source, MAX_RESULT_BYTES, "Allure result")
    if not isinstance(result, dict):
        raise MergeInputError(f"{shown}: damaged Allure result: not a JSON object")
    mode = PRIVATE if os.stat(source).st_mode & 0o077 == 0 else PUBLIC
    text = json.dumps(labelled(result, bench), ensure_ascii=False)
    write_file(target, text, root=root, mode=mode)


def _environment(results: Path, bench: str) -> dict[str, str]:
    """The bench's environment.properties (when it has one), its name always in it."""
    try:
        values = parse_properties(read_file(results / ENVIRONMENT_FILE).decode("latin-1"))
    except FileNotFoundError:
        values = {}
    except UnsafePath as error:
        raise MergeInputError(str(error)) from None
    return merge_values(values, {"bench": bench})
