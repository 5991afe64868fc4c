"""Done-when of Virtual Care: a patient completes a UTI message visit end to end with a clinician in a
second browser context, gets a prescription and a summary PDF whose text is checked."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from careplane.kernel.identity.models import User
from careplane.kernel.web import SESSION_COOKIE
from tests.helpers import session_cookie
from tests.units.virtual_care.builders import clinician, patient, seed

pytestmark = pytest.mark.browser


def _log_in(context, live_server, user_id) -> None:  # noqa: ANN001
    db = live_server.db
    with db.unit_of_work() as s:
        user = s.get(User, user_id)
        s.expunge(user)
    cookie = session_cookie(db, live_server.settings, user)
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server.url}])


def test_a_patient_completes_a_uti_visit_with_a_clinician_and_prints_the_summary(page, chromium, live_server, shot):
    db = live_server.db
    seed(db)
    doctor = clinician(db, "NY")
    who = patient(db, state="NY")
    _log_in(page.context, live_server, who.user_id)

    page.goto("/virtual-care/visits/new")
    page.get_by_label("What do you need help with?").select_option("uti")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Urinary tract infection")
    temperature = page.get_by_label("What was your highest temperature, in °F?")
    expect(temperature).to_be_hidden()  # asked only after a fever (enableWhen)
    page.locator("#fever-yes").check()
    expect(temperature).to_be_visible()
    for question in ("dysuria", "frequency"):
        page.locator(f"#{question}-yes").check()
    for question in ("fever", "flank_pain", "vomiting", "has_allergies"):
        page.locator(f"#{question}-no").check()
    page.get_by_label("How many days have you had these symptoms?").fill("two")
    page.locator("#last_uti-over_6m").check()
    page.get_by_role("button", name="Continue to price").click()
    expect(page.locator("#f-duration_days-error")).to_have_text("Answer with a whole number.")
    page.get_by_label("How many days have you had these symptoms?").fill("2")
    page.get_by_role("button", name="Continue to price").click()

    expect(page.get_by_role("heading", name="Price: $49.00")).to_be_visible()
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry date").fill("12/39")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay $49.00 and send to a clinician").click()
    expect(page.locator("#f-card_number-error")).to_contain_text("declined")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date").fill("12/39")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay $49.00 and send to a clinician").click()
    expect(page.get_by_role("heading", name="Waiting for a clinician")).to_be_visible()
    page.get_by_label("Your message").fill("It started on Monday.")
    page.get_by_role("button", name="Send message").click()
    visit_url = page.url.split("#")[0]

    staff = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        _log_in(staff, live_server, doctor.user_id)
        desk = staff.new_page()
        desk.goto("/virtual-care/queue")
        desk.get_by_role("button", name="Claim Urinary tract infection (NY)").click()
        expect(desk.get_by_text("The visit is yours.")).to_be_visible()
        expect(desk.get_by_text("It started on Monday.")).to_be_visible()
        desk.get_by_label("Your message").fill("Thank you. Any chance you are pregnant?")
        desk.get_by_role("button", name="Send message").click()

        page.goto(visit_url)
        expect(page.get_by_text("Any chance you are pregnant?")).to_be_visible()
        page.get_by_label("Your message").fill("No.")
        page.get_by_role("button", name="Send message").click()

        desk.reload()
        desk.get_by_label("Plan (the patient reads this)").fill(
            "Take the antibiotic for 5 days and drink plenty of water."
        )
        desk.get_by_label("N30.00", exact=False).check()
        other = desk.get_by_label("Other ICD-10-CM codes")
        other.fill("dysur")
        expect(desk.locator('#icd-suggestions option[value="R30.0"]')).to_have_count(1)  # searched as typed
        other.fill("")
        desk.get_by_label("Minutes spent on this visit").fill("12")
        desk.locator("#prescribe-0").check()
        desk.get_by_label("Product (search the catalog by name, brand or NDC)").fill("ibuprofen 400")
        expect(desk.locator('#drug-suggestions option[value="ibuprofen-400mg-tab"]')).to_have_count(1)
        desk.get_by_label("Product (search the catalog by name, brand or NDC)").fill("ibuprofen-400mg-tab")  # picked
        desk.locator("#prescribe-other").check()
        desk.locator("#sig-other").fill("Take 1 tablet by mouth every 8 hours with food as needed for pain.")
        desk.locator("#quantity-other").fill("6")
        shot(desk, "clinician")
        desk.get_by_role("button", name="Sign and complete").click()
        desk.goto("/virtual-care/queue?view=mine")
        expect(desk.get_by_text("You hold no visits.")).to_be_visible()
        shot(desk, "queue")
    finally:
        staff.close()

    page.goto(visit_url)
    expect(page.get_by_role("heading", name="Visit summary")).to_be_visible()
    expect(page.get_by_text("Nitrofurantoin", exact=False).first).to_be_visible()
    shot(page, "summary")
    pdf = page.request.get(f"{visit_url}/summary.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "Visit summary: Urinary tract infection" in text
    assert "Nitrofurantoin" in text and "drink plenty of water" in text and "N30.00" in text
    assert "Ibuprofen 400 mg" in text
    page.get_by_label("5 stars").check()
    page.get_by_role("button", name="Rate this visit").click()
    expect(page.get_by_text("Thank you for rating your visit.")).to_be_visible()
