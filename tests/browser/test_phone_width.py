"""Every page at phone width, as every demo role that may open it: nothing scrolls sideways at
320 px (a wide table scrolls inside its own labelled ``.table-scroll`` box), and axe-core finds no
WCAG 2.1 A/AA violation.

The demo is seeded and the pages are those of ``tests/test_every_page_renders.py`` (its ``ROUTES``
table and ``_demo_ids``), less the API and its documentation. Each role gets one 320x640 browser
context with a logged-in session, and one tab that visits its pages in turn. The pages are the same
on either database, so this runs on the first engine only. axe-core comes from npm
(``package.json`` at the repository root pins it; ``npm ci``, which ``.ci/run`` runs, installs it
into ``node_modules/``); without it only the width is checked and ``test_axe_core_is_installed``
skips with that hint, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from careplane.demo import demo_email, seed_demo
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import find_by_email
from careplane.kernel.web import SESSION_COOKIE
from tests.browser.conftest import TIMEOUT_MS, _in_ci
from tests.conftest import ENGINES
from tests.helpers import session_cookie
from tests.test_every_page_renders import COLUMNS, ROUTES, _demo_ids

pytestmark = pytest.mark.browser

PHONE = {"width": 320, "height": 640}
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

#: (page, role, url) -> the problems found on it
Check = Callable[[Any, Role, str], list[str]]


def _pages(ids: dict[str, str]) -> Iterator[tuple[Role, str]]:
    """(role, url) for every page route (not the API, not its docs) that the role may open."""
    for role in COLUMNS:
        seen: set[str] = set()
        for case in ROUTES:
            url = case.url.format(**ids)
            if case.path.startswith(("/api/", "/docs/")) or case.who[COLUMNS.index(role)] != "x" or url in seen:
                continue
            seen.add(url)
            yield role, url


def _walk(chromium, live_server, check: Check) -> list[str]:  # noqa: ANN001
    """Seed the demo, then visit every page as every role allowed to open it; returns every problem."""
    seed_demo(live_server.db, live_server.settings, patients=3, seed=7)
    ids = _demo_ids(live_server.db)
    by_role: dict[Role, list[str]] = {}
    for role, url in _pages(ids):
        by_role.setdefault(role, []).append(url)
    problems: list[str] = []
    visited = 0
    for role, urls in by_role.items():
        with live_server.db.unit_of_work() as s:
            user = find_by_email(s, demo_email(role))
        context = chromium.new_context(base_url=live_server.url, viewport=PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_cookies(
            [
                {
                    "name": SESSION_COOKIE,
                    "url": live_server.url,
                    "value": session_cookie(live_server.db, live_server.settings, user),
                }
            ]
        )
        page = context.new_page()
        try:
            for url in urls:
                response = page.goto(url)
                if response is None or not response.headers.get("content-type", "").startswith("text/html"):
                    continue  # /healthz, /metrics: not pages
                visited += 1
                problems += check(page, role, url)
        finally:
            context.close()
    assert visited > 50, f"only {visited} pages visited: is ROUTES read right?"
    return problems


def _too_wide(page, role: Role, url: str) -> list[str]:  # noqa: ANN001
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] <= width[1]:
        return []
    culprits = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                         && !e.closest('.table-scroll, .visually-hidden, .skip-link'))
            .slice(-3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                                + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)')"""
    )
    return [f"{role.value} GET {url}: {width[0]} px wide in a {width[1]} px window; off screen: {culprits}"]


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def _axe_violations(page, role: Role, url: str) -> list[str]:  # noqa: ANN001
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() runs through the DevTools protocol, so the page's CSP (no inline script) does not apply
        page.evaluate(_axe_source())
    # an htmx fragment (no doctype) is shown inside a page that has the title and the language
    fragment = page.evaluate("document.doctype === null")
    rules = {"document-title": {"enabled": False}, "html-has-lang": {"enabled": False}} if fragment else {}
    violations = page.evaluate(
        "([tags, rules]) => axe.run(document, {runOnly: {type: 'tag', values: tags}, rules: rules,"
        " resultTypes: ['violations']}).then(r => r.violations.map("
        " v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))})))",
        [AXE_TAGS, rules],
    )
    return [f"{role.value} GET {url}: {v['id']} ({v['impact']}) at {v['targets']}: {v['help']}" for v in violations]


@pytest.mark.parametrize("db", ENGINES[:1], indirect=True)  # markup and layout do not depend on the engine
def test_every_page_fits_320_px_and_passes_axe(chromium, live_server):  # noqa: ANN001
    """No page scrolls sideways at 320 px; with axe-core installed, none has a WCAG 2.1 A/AA violation."""
    with_axe = AXE.exists()
    problems = _walk(
        chromium,
        live_server,
        lambda page, role, url: _too_wide(page, role, url) + (_axe_violations(page, role, url) if with_axe else []),
    )
    assert not problems, "\n".join(problems)


def test_axe_core_is_installed():
    """Without axe-core the test above checks the width only: say so (a skip with the hint), or fail in CI."""
    if not AXE.exists():
        reason = f"axe-core not found at {AXE}, so no page was checked with it: run `npm ci` in the repository"
        if _in_ci():
            pytest.fail(f"{reason}. CI=true, so a missing axe-core is a failure.")
        pytest.skip(reason)
