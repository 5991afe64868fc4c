"""The live app in a real browser: a logged-in person gets the layout, navigation and a way out."""

import pytest

from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE
from tests.helpers import make_user, session_cookie

pytestmark = pytest.mark.browser


def test_anonymous_visitor_is_sent_to_login(page, live_server):
    page.goto("/")
    assert page.url.startswith(f"{live_server.url}/login")


def test_logged_in_staff_member_sees_home_with_logout(page, live_server, shot):
    user = make_user(live_server.db, role=Role.OPERATIONS_LEAD)
    raw = session_cookie(live_server.db, live_server.settings, user)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": raw, "url": live_server.url}])
    page.goto("/")
    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("link", name=user.display_name).is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()
    assert page.title().endswith("careplane")
    shot(page, "home")
