"""The masking net of a sign-off session: what pytest and Allure write is masked last.

Our messages are masked where they are made. This plugin catches what slips
through (a driver's error naming a phone, a value in a traceback's arguments):

- a failed test's exception is masked in place before pytest and allure-pytest
  read it, and the report pytest prints (traceback, captured output) after;
- every Allure result and container is masked just before it is written.

With ``BENCH_SHOW_IDENTIFIERS=1`` nothing is masked, and the session starts
with one warning line.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator
from typing import Any

import allure_commons
import attr
import pytest

from benches.redaction.masks import RAW_WARNING, show_raw
from benches.redaction.rack_masker import scrub_exception, scrub_text

log = logging.getLogger(__name__)

# Allure model fields that name files and other results: never rewritten.
_KEPT_FIELDS = frozenset({"uuid", "historyId", "testCaseId", "source", "children", "type"})


class MaskingPlugin:
    """Registered by the plugin's hooks for a sign-off session, with :class:`AllureMasking`."""

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not show_raw():
            return
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"bench: {RAW_WARNING}", yellow=True, bold=True)
        log.warning("%s", RAW_WARNING)

    # Innermost (trylast): it runs before allure-pytest reads the exception and the report.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        if call.excinfo is not None:
            scrub_exception(call.excinfo.value)
        report = yield
        report.longrepr = scrub_repr(report.longrepr)
        report.sections = [(title, scrub_text(body)) for title, body in report.sections]
        return report


class AllureMasking:
    """An allure-python plugin: masks results before its file logger writes them."""

    @allure_commons.hookimpl(tryfirst=True)
    def report_result(self, result: Any) -> None:
        scrub_model(result)

    @allure_commons.hookimpl(tryfirst=True)
    def report_container(self, container: Any) -> None:
        scrub_model(container)


def scrub_repr(item: Any) -> Any:
    """Mask pytest's report of a failure in place, keeping its form (and colours).

    It is a tree of dataclasses (ExceptionChainRepr, ReprEntry, ReprFuncArgs...)
    holding strings, or a string, or a skip's (path, line, reason).
    """
    if isinstance(item, str):
        return scrub_text(item)
    if type(item) in (list, tuple):
        return type(item)(scrub_repr(element) for element in item)
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        for field in dataclasses.fields(item):
            setattr(item, field.name, scrub_repr(getattr(item, field.name)))
    return item


def scrub_model(item: Any) -> Any:
    """Mask every text of an Allure model object in place (steps, parameters, details...)."""
    if isinstance(item, str):
        return scrub_text(item)
    if isinstance(item, list):
        item[:] = [scrub_model(element) for element in item]
    elif attr.has(type(item)):
        for field in attr.fields(type(item)):
            if field.name not in _KEPT_FIELDS:
                setattr(item, field.name, scrub_model(getattr(item, field.name)))
    return item
