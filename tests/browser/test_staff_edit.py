"""An operations lead changes a clinician's credentials on the staff edit page with the keyboard only:
Tab to the checkboxes, Space to tick and untick, Enter to save; a wrong NPI comes back with the error
summary, and the fix is saved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import StaffMember
from careplane.kernel.web import SESSION_COOKIE
from tests.browser.test_keyboard import focus_is_visible, focused_label, press_until
from tests.helpers import make_user, session_cookie
from tests.kernel.org.test_staff import NPI_A, hire, units_and_teams

pytestmark = pytest.mark.browser


def test_operations_lead_edits_credentials_with_the_keyboard(page, live_server, shot):
    db = live_server.db
    units_and_teams(db)
    doc = hire(db, npi=NPI_A, unit="virtual_care", display_name="Dana Brown, MD")
    lead = make_user(db, role=Role.OPERATIONS_LEAD)
    page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": session_cookie(db, live_server.settings, lead), "url": live_server.url}]
    )

    page.goto(f"/org/staff/{doc.id}")
    press_until(page, "Tab", lambda: focused_label(page) == "Edit Dana Brown, MD", limit=60)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Dana Brown, MD")
    group = page.get_by_role("group", name="Credentials")
    expect(group.get_by_role("checkbox", name="MD", exact=True)).to_be_checked()

    # The choices sit side by side: DO is to the right of MD, on the same row.
    md, do = (group.get_by_role("checkbox", name=n, exact=True).bounding_box() for n in ("MD", "DO"))
    assert md and do and do["x"] > md["x"] and abs(do["y"] - md["y"]) < 5

    press_until(page, "Tab", lambda: focused_label(page) == "MD", limit=60)
    assert focus_is_visible(page)
    page.keyboard.press("Space")  # untick MD
    page.keyboard.press("Tab")
    assert focused_label(page) == "DO"
    page.keyboard.press("Space")  # tick DO
    press_until(page, "Tab", lambda: focused_label(page) == "NPI", limit=60)
    page.keyboard.press("Control+A")
    page.keyboard.type("1234567890")  # a wrong check digit
    page.keyboard.press("Enter")

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("check digit")
    expect(page.get_by_label("NPI")).to_have_attribute("aria-invalid", "true")
    expect(group.get_by_role("checkbox", name="DO", exact=True)).to_be_checked()  # kept as sent
    expect(group.get_by_role("checkbox", name="MD", exact=True)).not_to_be_checked()
    shot(page, "npi-error")

    press_until(page, "Tab", lambda: focused_label(page) == "NPI", limit=60)
    page.keyboard.press("Control+A")
    page.keyboard.type(NPI_A)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/org/staff/{doc.id}$"))
    expect(page.get_by_role("status")).to_contain_text("Changes to Dana Brown, MD saved.")
    expect(page.get_by_role("definition").filter(has_text=re.compile(r"^DO$"))).to_be_visible()
    shot(page, "saved")
    with db.unit_of_work() as s:
        assert s.scalar(select(StaffMember.credentials).where(StaffMember.id == doc.id)) == ["DO"]
