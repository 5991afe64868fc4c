"""A patient who opens another patient's page is refused, and the refusal is in the audit log."""

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.service import register_patient
from careplane.kernel.web import SESSION_COOKIE
from tests.helpers import TEST_PASSWORD, make_user, session_cookie

pytestmark = pytest.mark.browser


def register(db, given: str, family: str, email: str):  # noqa: ANN001, ANN201
    data = {
        "given_name": given,
        "family_name": family,
        "birth_date": date(1990, 3, 14),
        "sex_at_birth": "female",
        "state": "NY",
        "postal_code": "10001",
        "email": email,
    }
    with db.unit_of_work() as s:
        return register_patient(s, Actor.for_system("tests"), data, confirm_not_duplicate=True)


def test_patient_is_refused_another_patients_record_and_it_is_audited(page, chromium, live_server, shot):
    db = live_server.db
    own = register(db, "Ada", "Lovelace", "ada@example.org")
    other = register(db, "Grace", "Hopper", "grace@example.org")
    user = make_user(db, role=Role.PATIENT, email="ada@example.org", patient_id=own.id)

    page.goto("/login")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    response = page.goto(f"/patients/{own.id}")
    assert response.status == 200, "a patient may open their own record"
    expect(page.get_by_text("Lovelace").first).to_be_visible()

    response = page.goto(f"/patients/{other.id}")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "Hopper" not in page.content()
    assert "access" in page.locator("main").inner_text().lower()
    shot(page, "refused")

    with db.unit_of_work() as s:
        denied = s.scalars(
            select(AuditEntry).where(AuditEntry.patient_id == other.id, AuditEntry.outcome == "denied")
        ).all()
    assert [(d.actor_user_id, d.action, d.via) for d in denied] == [(user.id, "patient.read", "web")]
    assert denied[0].reason

    # The operations lead finds the refusal in the audit log page.
    lead = make_user(db, role=Role.OPERATIONS_LEAD)
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        context.add_cookies(
            [{"name": SESSION_COOKIE, "value": session_cookie(db, live_server.settings, lead), "url": live_server.url}]
        )
        audit = context.new_page()
        audit.goto("/ops/audit?outcome=denied&user=ada@example.org")
        rows = audit.locator("table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Denied")
        expect(rows.first).to_contain_text("patient.read")
        shot(audit, "audit-log")
    finally:
        context.close()
