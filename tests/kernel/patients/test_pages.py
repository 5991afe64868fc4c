import uuid

from sqlalchemy import func, select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.models import Consent, EmergencyContact, Patient, PossibleDuplicate
from careplane.kernel.web import CSRF_COOKIE

FORM = {
    "given_name": "Jonathan",
    "family_name": "Smith",
    "birth_date": "1984-07-21",
    "sex_at_birth": "male",
    "state": "NY",
    "postal_code": "10001",
    "phone": "212-555-0123",
    "email": "jon@example.org",
    "language": "en",
    "preferred_channel": "email",
    "allow_email": "on",
    "allow_phone": "on",
    "consent_treatment": "on",
    "consent_hipaa_authorization": "on",
    "contact_0_name": "Ann Smith",
    "contact_0_relationship": "spouse",
    "contact_0_phone": "212 555 0177",
}


def csrf(client) -> str:  # noqa: ANN001
    client.get("/login")
    return client.cookies.get(CSRF_COOKIE)


def count(db, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def as_staff(client, login, role=Role.CLINICIAN):  # noqa: ANN001, ANN201
    who = login(role, via="cookie")
    client.cookies.update(who["cookies"])
    return who


def test_search_page_and_live_results_audit_each_patient(client, login, register, db):
    a = register()
    who = as_staff(client, login)
    page = client.get("/patients?q=smith")
    assert page.status_code == 200 and a.mrn in page.text and 'hx-get="/patients/results"' in page.text
    assert ">Patients<" in page.text  # nav item
    fragment = client.get("/patients/results?q=jon")
    assert a.mrn in fragment.text and "<html" not in fragment.text
    assert "No patients match" in client.get("/patients/results?q=zzz").text
    assert (
        count(
            db,
            AuditEntry,
            AuditEntry.patient_id == a.id,
            AuditEntry.actor_user_id == who["user_id"],
            AuditEntry.resource_type == "patient_search_result",
        )
        == 2
    )


def test_register_form_shows_field_errors_and_keeps_input(client, login, db):
    as_staff(client, login)
    token = csrf(client)
    response = client.post(
        "/patients/new", data={**FORM, "birth_date": "2999-01-01", "postal_code": "12", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "The date of birth cannot be in the future." in response.text
    assert "ZIP code of 5 digits" in response.text
    assert 'value="Jonathan"' in response.text and 'value="Ann Smith"' in response.text
    assert count(db, Patient) == 0


def test_register_duplicate_step_then_register_anyway(client, login, register, db):
    first = register()
    as_staff(client, login)
    token = csrf(client)
    response = client.post("/patients/new", data={**FORM, "given_name": "Jon", "csrf_token": token})
    assert response.status_code == 409
    assert first.mrn in response.text and "Register anyway" in response.text
    assert count(db, Patient) == 1
    done = client.post(
        "/patients/new",
        data={**FORM, "given_name": "Jon", "confirm_not_duplicate": "1", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    chart = client.get(done.headers["location"])
    assert "Possible duplicate" in chart.text and "Jon Smith" in chart.text
    assert "Consent to treatment" in chart.text and "Ann Smith" in chart.text
    assert count(db, PossibleDuplicate) == 1 and count(db, Consent) == 2 and count(db, EmergencyContact) == 1


def test_edit_and_consent_buttons(client, login, register, db):
    a = register()
    as_staff(client, login)
    token = csrf(client)
    form = {k: v for k, v in FORM.items() if not k.startswith("consent_")}
    bad = client.post(f"/patients/{a.id}/edit", data={**form, "phone": "123", "csrf_token": token})
    assert bad.status_code == 422 and "10-digit" in bad.text
    ok = client.post(
        f"/patients/{a.id}/edit", data={**form, "city": "Albany", "csrf_token": token}, follow_redirects=False
    )
    assert ok.status_code == 303
    client.post(f"/patients/{a.id}/consents", data={"kind": "telehealth", "csrf_token": token})
    with db.unit_of_work() as s:
        p = s.get(Patient, a.id)
        assert p.city == "Albany"
        assert [c.kind for c in p.consents] == ["telehealth"]
    assert client.post(f"/patients/{a.id}/consents", data={"kind": "telehealth"}).status_code == 403  # no CSRF


def test_patient_cannot_open_another_chart(client, login, register, db):
    a, b = register(), register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    me = login(Role.PATIENT, patient_id=a.id, via="cookie")
    client.cookies.update(me["cookies"])
    assert client.get(f"/patients/{b.id}").status_code == 403
    assert client.get("/patients?q=garcia").status_code == 403
    assert count(db, AuditEntry, AuditEntry.patient_id == b.id, AuditEntry.outcome == "denied") == 1


def test_a_possible_duplicate_is_reviewed_on_the_chart_and_dismissed(client, login, register, db):
    first = register()
    as_staff(client, login)
    token = csrf(client)
    done = client.post(
        "/patients/new",
        data={**FORM, "given_name": "Jon", "confirm_not_duplicate": "1", "csrf_token": token},
        follow_redirects=False,
    )
    chart_url = done.headers["location"]
    chart = client.get(chart_url)
    assert f'href="/patients/{first.id}"' in chart.text and first.mrn in chart.text  # the other record, linked
    with db.unit_of_work() as s:
        pair = s.scalar(select(PossibleDuplicate))
    patient_id = chart_url.rsplit("/", 1)[1]
    dismiss = f"/patients/{patient_id}/duplicates/{pair.id}/dismiss"
    assert client.post(dismiss, data={}).status_code == 403  # no CSRF token

    pharmacist = as_staff(client, login, role=Role.PHARMACIST)  # may read, may not decide
    assert client.post(dismiss, data={"csrf_token": token}).status_code == 403
    assert count(db, AuditEntry, AuditEntry.outcome == "denied", AuditEntry.actor_user_id == pharmacist["user_id"]) == 1

    as_staff(client, login)
    assert client.post(dismiss, data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert count(db, PossibleDuplicate, PossibleDuplicate.status == "not_duplicate") == 1
    assert "Possible duplicate" not in client.get(chart_url).text
    assert client.post(dismiss, data={"csrf_token": token}).status_code == 409  # already decided
    assert (
        client.post(f"/patients/{first.id}/duplicates/{patient_id}/dismiss", data={"csrf_token": token}).status_code
        == 404
    )


def test_a_patient_with_a_possible_duplicate_still_sees_their_own_chart_and_not_the_other_person(
    client, login, register, db
):
    first = register()
    as_staff(client, login)
    done = client.post(
        "/patients/new",
        data={**FORM, "given_name": "Jon", "confirm_not_duplicate": "1", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    second_id = done.headers["location"].rsplit("/", 1)[1]
    client.cookies.clear()
    me = login(Role.PATIENT, patient_id=uuid.UUID(second_id), via="cookie")
    client.cookies.update(me["cookies"])
    chart = client.get(f"/patients/{second_id}")
    assert chart.status_code == 200
    assert "Possible duplicate" not in chart.text and first.mrn not in chart.text
    assert count(db, AuditEntry, AuditEntry.patient_id == first.id, AuditEntry.actor_user_id == me["user_id"]) == 0


def test_the_chart_opens_with_a_patient_banner_and_a_list_of_its_sections(client, login, register, db):
    a = register()  # registered without a consent to treatment
    as_staff(client, login)
    page = client.get(f"/patients/{a.id}").text
    banner = page[page.index('class="patient-banner"') : page.index("</header>", page.index('class="patient-banner"'))]
    assert a.mrn in banner and "Sex at birth" in banner and "Age" in banner and " y" in banner
    assert "No consent to treatment on file" in banner
    tabs = page[page.index('aria-label="Sections of this chart"') :]
    for anchor in ("#demographics-h", "#prefs-h", "#contacts-h", "#consents-h"):
        assert f'href="{anchor}"' in tabs and f'id="{anchor[1:]}"' in page


def test_age_is_said_in_years_months_or_days():
    from datetime import date

    from careplane.kernel.patients.pages import age_of

    today = date(2026, 12, 3)
    assert age_of(date(1984, 12, 4), today) == "41 y" and age_of(date(1984, 12, 3), today) == "42 y"
    assert age_of(date(2025, 8, 3), today) == "16 mo" and age_of(date(2026, 11, 20), today) == "13 d"
