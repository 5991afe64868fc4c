"""A browser in Chicago sees the platform's times in Chicago time, named, once the layout's
script has told the server its zone."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from careplane.kernel.identity.models import ApiToken
from careplane.kernel.identity.roles import Role
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.steps import log_in_with_password
from tests.helpers import TEST_PASSWORD, api_token, make_user

pytestmark = pytest.mark.browser


def test_a_browser_in_chicago_sees_chicago_time(chromium, live_server, shot):  # noqa: ANN001
    user = make_user(live_server.db, role=Role.PATIENT, email="ana@example.org")
    api_token(live_server.db, user)
    with live_server.db.unit_of_work() as s:
        s.execute(update(ApiToken).values(created_at=datetime(2026, 1, 15, 18, 5, tzinfo=UTC)))
    context = chromium.new_context(base_url=live_server.url, timezone_id="America/Chicago")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in_with_password(page, "ana@example.org", TEST_PASSWORD)
        page.goto("/profile")
        expect(page.get_by_role("table").filter(has_text="test token")).to_contain_text("2026-01-15 12:05 CST")
        shot(page, "profile-in-chicago")
    finally:
        context.close()
