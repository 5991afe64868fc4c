"""A staff member's first login: password, set up two-step verification, recovery codes, home;
then log out and log in again with a code from the authenticator."""

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from careplane.kernel import clock
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from tests.browser.steps import log_in_with_password
from tests.helpers import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_staff_enrols_mfa_then_logs_in_with_a_code(page, live_server, shot):
    with live_server.db.unit_of_work() as s:
        create_user(
            s,
            email="nurse@example.org",
            display_name="Nora Nurse",
            roles=[Role.CLINICIAN],
            password=TEST_PASSWORD,
            unit="virtual_care",
            email_verified=True,
        )

    log_in_with_password(page, "nurse@example.org", "not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("E-mail address")).to_have_value("nurse@example.org")

    log_in_with_password(page, "nurse@example.org", TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    shot(page, "enrol")
    secret = re.sub(r"\s", "", page.locator("#mfa-secret").inner_text())
    totp = pyotp.TOTP(secret)

    page.get_by_label("6-digit code").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("alert")).to_be_visible()

    page.get_by_label("6-digit code").fill(totp.at(clock.now()))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    assert len(set(codes.all_inner_texts())) == 10
    shot(page, "recovery-codes")
    page.get_by_role("link", name=re.compile("saved my codes")).click()
    expect(page.get_by_role("heading", name=re.compile("Nora Nurse"))).to_be_visible()
    shot(page, "home")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))

    log_in_with_password(page, "nurse@example.org", TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    # The enrolment code's time-step may not be used again, so give the next step's code
    # (accepted: one step either side of now, as an authenticator's clock may drift).
    page.get_by_label("6-digit code").fill(totp.at(clock.now() + timedelta(seconds=30)))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=re.compile("Nora Nurse"))).to_be_visible()
    assert page.url == f"{live_server.url}/"
