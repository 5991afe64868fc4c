"""Before the idle timeout logs a person out, the page warns them and lets them stay (WCAG 2.2.1)."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careplane.kernel.identity.models import WebSession
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE
from tests.helpers import make_user, session_cookie

pytestmark = pytest.mark.browser


def test_the_idle_warning_comes_before_the_timeout_and_stay_logged_in_restarts_the_clock(page, live_server):  # noqa: ANN001
    clinician = make_user(live_server.db, role=Role.CLINICIAN)
    page.context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "url": live_server.url,
                "value": session_cookie(live_server.db, live_server.settings, clinician),
            }
        ]
    )
    with live_server.db.unit_of_work() as s:
        seen_before = s.scalar(select(WebSession.last_seen_at).where(WebSession.user_id == clinician.id))
    page.clock.install()
    page.goto("/profile")
    warning = page.get_by_role("alertdialog", name="Are you still there?")
    expect(warning).to_be_hidden()
    idle_minutes = live_server.settings.session_idle_minutes
    page.clock.run_for((idle_minutes * 60 - 121) * 1000)
    expect(warning).to_be_hidden()
    page.clock.run_for(2000)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("1:59")
    stay = page.get_by_role("button", name="Stay logged in")
    expect(stay).to_be_focused()
    page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    with live_server.db.unit_of_work() as s:
        seen_after = s.scalar(select(WebSession.last_seen_at).where(WebSession.user_id == clinician.id))
    assert seen_after > seen_before
