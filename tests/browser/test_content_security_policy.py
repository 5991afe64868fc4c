"""Pages work under the Content-Security-Policy: the browser reports no violation, and the
behaviours that were inline scripts (static/page-helpers.js) still happen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE
from tests.browser.conftest import TIMEOUT_MS
from tests.helpers import make_user, session_cookie

pytestmark = pytest.mark.browser


def test_pages_run_under_the_policy_without_violations(chromium, live_server):  # noqa: ANN001
    admin = make_user(live_server.db, role=Role.ADMINISTRATOR)
    context = chromium.new_context(base_url=live_server.url, timezone_id="America/Chicago")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "url": live_server.url,
                "value": session_cookie(live_server.db, live_server.settings, admin),
            }
        ]
    )
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto("/ops/audit")
        expect(page.get_by_label("Time zone")).to_have_value("America/Chicago")  # filled by page-helpers.js

        page.goto("/profile")
        page.locator('form[action="/profile/tokens"] input[name=name]').fill("script")
        page.get_by_role("button", name="Create token").click()
        token = page.locator("#new-token")
        token.focus()
        assert page.evaluate(
            "() => document.activeElement.selectionEnd - document.activeElement.selectionStart"
        ) == len(token.input_value())  # selected whole on focus, for copying
        for path in ("/", "/patients", "/org", "/ops/events"):
            page.goto(path)
    finally:
        context.close()
    assert violations == []
