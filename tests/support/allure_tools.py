"""Helpers for tests that run the real Allure CLI and read the report it renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benches.report.allure.generator import AllureUnavailable, find_allure


def require_allure() -> Path:
    """The project's Allure CLI. Missing: a failure with the fix, never a skip that hides it."""
    try:
        return find_allure()
    except AllureUnavailable as error:
        pytest.fail(f"{error} (./run test installs it)")


def category_tree(report: Path) -> dict[str, set[str]]:
    """The report's Categories tab: category name -> names of the tests under it."""
    tree = json.loads((report / "data" / "categories.json").read_text())
    filed: dict[str, set[str]] = {}
    for category in tree["children"]:
        tests = filed.setdefault(category["name"], set())
        for message in category["children"]:
            tests.update(test["name"] for test in message["children"])
    return filed
