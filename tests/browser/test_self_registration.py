"""A patient registers through the portal form (fixing one field first), confirms their e-mail
address with the link from the verification mail in the local mailbox, then logs in."""

import re

import pytest
from playwright.sync_api import expect

from careplane.kernel.identity.users import find_by_email
from tests.browser.steps import log_in_with_password
from tests.helpers import TEST_PASSWORD

pytestmark = pytest.mark.browser

EMAIL = "maya.patel@example.org"


def test_patient_registers_and_confirms_their_email(page, live_server, shot):
    page.goto("/login")  # a new patient finds the way to register from the login page
    page.get_by_role("link", name="Create your account").click()
    expect(page.get_by_role("heading", name="Create your careplane account")).to_be_visible()
    page.get_by_label("First name").fill("Maya")
    page.get_by_label("Last name").fill("Patel")
    page.get_by_label("Date of birth").fill("1992-05-17")
    page.get_by_label("Sex assigned at birth").select_option("female")
    page.get_by_label("State you live in").select_option("CA")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill("short")
    page.get_by_label(re.compile("Consent to treatment")).check()
    page.get_by_label(re.compile("HIPAA authorization")).check()
    page.get_by_role("button", name="Create account").click()

    # One field is wrong: the form comes back with that field marked and the rest kept.
    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link")).to_have_count(1)
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-password-error")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Maya")
    expect(page.get_by_label("State you live in")).to_have_value("CA")
    shot(page, "field-error")
    with live_server.db.unit_of_work() as s:
        assert find_by_email(s, EMAIL) is None, "nothing is saved while the form has errors"

    password.fill(TEST_PASSWORD)
    # check() leaves a box that is already ticked as it is.
    page.get_by_label(re.compile("Consent to treatment")).check()
    page.get_by_label(re.compile("HIPAA authorization")).check()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    expect(page.locator("main")).to_contain_text(EMAIL)
    shot(page, "registered")
    with live_server.db.unit_of_work() as s:
        user = find_by_email(s, EMAIL)
        assert user is not None and user.patient_id is not None
        assert user.email_verified_at is None

    page.goto("/mailbox")
    row = page.get_by_role("row").filter(has_text=EMAIL)
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    body = page.locator("main").inner_text()
    link = re.search(r"https?://\S+/verify-email/\S+", body)
    assert link, f"no verification link in the mail:\n{body}"
    assert link.group(0).startswith(live_server.url), "the link must use the configured base URL"
    shot(page, "mail")
    page.get_by_role("link", name=link.group(0)).click()
    expect(page.get_by_role("heading", name="E-mail address confirmed")).to_be_visible()
    expect(page.locator("main")).to_contain_text(EMAIL)
    shot(page, "confirmed")
    with live_server.db.unit_of_work() as s:
        assert find_by_email(s, EMAIL).email_verified_at is not None

    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()

    log_in_with_password(page, EMAIL, TEST_PASSWORD)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.get_by_role("link", name="My record").click()
    expect(page.locator("main")).to_contain_text("Patel")
    shot(page, "my-record")
