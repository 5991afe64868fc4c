"""A chart printed: the patient banner and the record, without the navigation and the buttons."""

import pytest
from playwright.sync_api import expect

from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE
from tests.browser.test_refused_access import register
from tests.helpers import make_user, session_cookie

pytestmark = pytest.mark.browser


def test_a_printed_chart_keeps_the_banner_and_drops_the_navigation(page, live_server):  # noqa: ANN001
    patient = register(live_server.db, "Ada", "Lovelace", "ada@example.org")
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
    page.goto(f"/patients/{patient.id}")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    expect(page.locator(".patient-banner")).to_be_visible()
    expect(page.locator(".patient-banner")).to_contain_text(patient.mrn)
    expect(page.get_by_role("heading", name="Demographics")).to_be_visible()
