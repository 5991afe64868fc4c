"""Browser tests: the real app served by uvicorn on a free local port, driven by the system Chromium.

The app runs against the ``db`` fixture's fresh database, so each browser test runs on SQLite
and on PostgreSQL. Chromium comes from Debian (``apt-get install chromium``), never from
``playwright install``; when it is missing the tests skip, except under ``CI=true``, where that
is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CAREPLANE_CHROMIUM") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long a page element may take to appear before the test fails.
TIMEOUT_MS = 15_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CAREPLANE_CHROMIUM)"
        if _in_ci():
            pytest.fail(f"{reason}. CI=true, so a missing browser is a failure.")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN001, ANN201
    """A fresh browser context (no cookies) on the live server; keeps a screenshot when the test fails."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    browser_page = context.new_page()
    yield browser_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        target = screenshot_dir(tmp_path) / f"{request.node.name}-failed.png"
        browser_page.screenshot(path=str(target), full_page=True)
        print(f"screenshot of the failing page: {target}")
    context.close()


def screenshot_dir(default: Path) -> Path:
    """``CAREPLANE_SCREENSHOT_DIR`` when set (to look at the pages), else the test's temporary folder."""
    folder = Path(os.environ.get("CAREPLANE_SCREENSHOT_DIR") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shot(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    """``shot(page, "name")`` saves a full-page screenshot and returns its path."""

    def take(browser_page, name: str) -> Path:  # noqa: ANN001
        target = screenshot_dir(tmp_path) / f"{request.node.name}-{name}.png"
        browser_page.screenshot(path=str(target), full_page=True)
        return target

    return take


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
