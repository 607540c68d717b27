"""The Allure report of a real sign-off, opened in a real headless Chromium.

A sign-off of the leaky build runs on a virtual rack of its own (127.81.0.0/16,
adb port 5221); the real Allure CLI renders its results; a real HTTP server on
loopback serves the report (Allure's single-page app does not work from
file://); Debian's Chromium, driven by Playwright, reads it as a person would.
Nothing is downloaded: Playwright runs the system's /usr/bin/chromium.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benches.report.allure.generator import GeneratedReport, generate_report
from tests.support.allure_tools import category_tree, require_allure
from tests.support.browser import chromium_page
from tests.support.rackfiles import LEAKY, REPO, relocated_rack
from tests.support.signoff_run import signoff

pytestmark = pytest.mark.live

SERVE_ON = "127.81.0.1"  # this test's loopback range; the port is the kernel's choice
LEAKY_BUILD = "00WW_3_22C"
PHONE = "SI…1"  # SIM7P0001 as people read it
PHONE_FILE = "SI_1"  # ... and in test ids and file names
TEST_NAME = f"test_boot[{PHONE_FILE}-cycle1]"
SCREENSHOT = REPO / "docs" / "images" / "allure-report.png"
CHART_TYPES = ("image/svg+xml", "image/png")


@pytest.fixture(scope="module")
def leaky_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GeneratedReport]:
    cli = require_allure()
    work = tmp_path_factory.mktemp("leaky-signoff")
    reports = work / "reports"
    done = signoff(LEAKY, relocated_rack(work, shift=81, adb_port=5221), reports)
    assert done.returncode == 1, done.stdout + done.stderr
    return reports, generate_report(
        [reports / "allure-results"], reports / "allure-report", cli=cli
    )


@contextmanager
def served(directory: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer((SERVE_ON, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{SERVE_ON}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_report_files_the_leak_under_data_leak(
    leaky_report: tuple[Path, GeneratedReport],
) -> None:
    """What the browser will show, read from the report's own data first."""
    _, generated = leaky_report
    filed = category_tree(generated.directory)
    boots = {f"test_boot[SI_{n}-cycle1]" for n in (1, 2, 3)}
    assert boots <= filed["Data leak"]
    for category, tests in filed.items():
        assert category == "Data leak" or not boots & tests, (category, tests)


def test_the_leak_its_category_and_its_pcap_in_a_real_browser(
    leaky_report: tuple[Path, GeneratedReport], tmp_path: Path
) -> None:
    reports, generated = leaky_report
    pcap = reports / "pcaps" / LEAKY_BUILD / f"{PHONE_FILE}-boot-1.pcap"
    with (
        served(generated.directory) as url,
        chromium_page(tmp_path / "chromium-profile", 1400, 1000) as page,
    ):
        page.goto(url)  # the overview: the environment says which build this was
        environment = page.locator("[data-id=environment]")
        expect(environment).to_contain_text(LEAKY_BUILD)

        page.goto(url + "#categories")
        page.locator(".node__title", has_text="Data leak").click()
        page.locator(".node__title", has_text=f"{PHONE_FILE}-boot-1.pcap").first.click()
        page.locator(".node__leaf", has_text=TEST_NAME).click()

        expect(page.locator(".test-result__name")).to_contain_text(TEST_NAME)
        expect(page.get_by_text("Categories: Data leak")).to_be_visible()
        expect(page.get_by_text("Severity: blocker")).to_be_visible()
        expect(page.locator(".label", has_text="CN")).to_be_visible()

        page.locator(".step__title", has_text=f"boot cycle 1 of {PHONE}").click()
        row = page.locator(".attachment-row", has_text=pcap.name)
        expect(row).to_be_visible()
        assert row.get_attribute("data-type") == "application/vnd.tcpdump.pcap"
        href = row.locator("[data-download]").get_attribute("data-download")
        assert href is not None
        download = page.request.get(url + href)
        assert download.ok and download.body() == pcap.read_bytes()

        # The charts: this cycle's timeline, in its step; where the build's traffic
        # went, attached by a session fixture at the end (shown in the Tear down).
        timeline = page.locator(".attachment-row", has_text="timeline chart")
        expect(timeline).to_be_visible()
        assert timeline.get_attribute("data-type") in CHART_TYPES
        chart_step = page.locator(".step__title", has_text="signoff_build_chart::")
        chart_step = chart_step.filter(has_text="attachment")
        if not chart_step.is_visible():
            page.locator(".step__title", has_text="Tear down").click()
        chart_step.click()
        traffic = page.locator(".attachment-row", has_text="where the traffic went")
        expect(traffic).to_be_visible()
        assert traffic.get_attribute("data-type") in CHART_TYPES

        row.click()
        row.scroll_into_view_if_needed()
        shot = tmp_path / "allure-report.png"
        page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0
    if os.environ.get("BENCH_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
