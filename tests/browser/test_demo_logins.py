"""Every role's demo login (as printed by `careplane demo`) reaches its home page in a browser."""

import re

import pyotp
import pytest
from playwright.sync_api import expect

from careplane import demo
from careplane.kernel import clock
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import find_by_email

pytestmark = pytest.mark.browser

HOME_SECTION = {
    Role.PATIENT: "Demographics",
    Role.CLINICIAN: "Your work",
    Role.PHARMACIST: "Your work",
    Role.PHARMACY_TECHNICIAN: "Your work",
    Role.BILLER: "Your work",
    Role.EMPLOYER_ADMIN: "What you will see here",
    Role.OPERATIONS_LEAD: "Across the organisation",
    Role.ADMINISTRATOR: "Your work",
}


def test_every_demo_login_reaches_its_home_page(page, live_server, shot):
    logins = demo.seed_demo(live_server.db, live_server.settings, patients=0)
    assert {login.role for login in logins} == set(Role)
    for login in logins:
        page.goto("/login")
        page.get_by_label("E-mail address").fill(login.email)
        page.get_by_label("Password").fill(login.password)
        page.get_by_role("button", name="Log in").click()
        if login.mfa:
            expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
            with live_server.db.unit_of_work() as s:
                secret = find_by_email(s, login.email).mfa_secret
            page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).at(clock.now()))
            page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert not re.search(r"/(login|mfa)\b", page.url), f"{login.role} stuck at {page.url}"
        assert "Not Found" not in page.title() and "Forbidden" not in page.title(), f"{login.role}: {page.title()}"
        if login.role is Role.PATIENT:
            expect(page.locator("main")).to_contain_text("Avery")
        # Each home is the role's work: what waits for them, or what they will see there.
        expect(page.get_by_role("heading", name=HOME_SECTION[login.role], exact=True)).to_be_visible()
        shot(page, login.role.value)
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
