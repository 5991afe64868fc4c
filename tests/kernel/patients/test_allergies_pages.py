"""The allergy list on the staff chart (section, banner flag, forms) and in the portal."""

import re

from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.allergies import service
from careplane.kernel.patients.allergies.models import PatientAllergy
from careplane.kernel.web import CSRF_COOKIE
from tests import a11y

from .conftest import SYSTEM
from .test_pages import as_staff, count


def _csrf(client) -> str:  # noqa: ANN001
    return client.cookies.get(CSRF_COOKIE)


def _banner(html: str) -> str:
    return re.search(r'<header class="patient-banner".*?</header>', html, re.S).group(0)


def test_the_chart_shows_the_section_and_the_banner_flag(client, login, register, db):
    p = register()
    as_staff(client, login)
    chart = client.get(f"/patients/{p.id}")
    assert chart.status_code == 200 and 'id="section-allergies"' in chart.text
    assert "Allergies not recorded" in _banner(chart.text) and not a11y.problems(chart.text)
    with db.unit_of_work() as s:
        service.record_allergy(s, SYSTEM, p.id, {"substance": "Penicillin", "category": "medication"})
        service.record_allergy(s, SYSTEM, p.id, {"substance": "Sulfa", "category": "medication"})
    chart = client.get(f"/patients/{p.id}")
    assert "Allergies: Penicillin, Sulfa" in _banner(chart.text)
    assert 'Mark inactive<span class="visually-hidden">: Penicillin' in chart.text and not a11y.problems(chart.text)


def test_adding_on_the_chart_with_field_errors_then_marking_entered_in_error(client, login, register, db):
    p = register()
    as_staff(client, login)
    client.get(f"/patients/{p.id}")
    refused = client.post(
        f"/patients/{p.id}/allergies", data={"csrf_token": _csrf(client), "substance": "Latex", "category": "x"}
    )
    assert refused.status_code == 422 and "Choose medication, food, environment or biologic." in refused.text
    assert 'value="Latex"' in refused.text and 'aria-invalid="true"' in refused.text
    assert not a11y.problems(refused.text) and count(db, PatientAllergy) == 0
    added = client.post(
        f"/patients/{p.id}/allergies",
        data={"csrf_token": _csrf(client), "substance": "Latex", "category": "environment", "reaction": "rash"},
    )
    assert added.status_code == 200 and "Latex added to the allergy list." in added.text
    assert "Allergies: Latex" in _banner(added.text)
    again = client.post(
        f"/patients/{p.id}/allergies", data={"csrf_token": _csrf(client), "substance": "latex", "category": "food"}
    )
    assert again.status_code == 409 and "Latex is already on the active allergy list" in again.text
    with db.unit_of_work() as s:
        (entry,) = service.list_allergies(s, SYSTEM, p.id)
    marked = client.post(
        f"/patients/{p.id}/allergies/{entry.id}/status",
        data={"csrf_token": _csrf(client), "status": "entered-in-error"},
    )
    assert marked.status_code == 200 and "Allergies not recorded" in _banner(marked.text)
    assert "<s>Latex</s>" in marked.text
    nka = client.post(f"/patients/{p.id}/allergies/no-known-allergies", data={"csrf_token": _csrf(client)})
    assert "No known allergies" in _banner(nka.text)


def test_the_forms_need_the_csrf_token(client, login, register):
    p = register()
    as_staff(client, login)
    client.get(f"/patients/{p.id}")
    response = client.post(f"/patients/{p.id}/allergies", data={"substance": "Latex", "category": "environment"})
    assert response.status_code in (400, 403)


def test_a_patient_sees_and_adds_their_own_in_the_portal(client, login, register, db):
    p = register()
    me = login(Role.PATIENT, patient_id=p.id, via="cookie")
    client.cookies.update(me["cookies"])
    page = client.get("/my")
    assert page.status_code == 200 and "My allergies" in page.text and not a11y.problems(page.text)
    assert "Mark inactive" not in page.text and 'name="source"' not in page.text
    refused = client.post("/my/allergies", data={"csrf_token": _csrf(client), "category": "food"})
    assert refused.status_code == 422 and "Enter the substance" in refused.text and not a11y.problems(refused.text)
    added = client.post("/my/allergies", data={"csrf_token": _csrf(client), "substance": "Peanuts", "category": "food"})
    assert added.status_code == 200 and "Peanuts added to the allergy list." in added.text
    with db.unit_of_work() as s:
        (entry,) = service.list_allergies(s, SYSTEM, p.id)
    assert entry.source == "patient-reported"
    # a patient changes no status, even through the staff form of their own chart
    marked = client.post(
        f"/patients/{p.id}/allergies/{entry.id}/status",
        data={"csrf_token": _csrf(client), "status": "inactive"},
        follow_redirects=False,
    )
    assert marked.status_code == 403
    with db.unit_of_work() as s:
        assert service.active_allergy_substances(s, SYSTEM, p.id) == ["Peanuts"]


def test_a_patient_cannot_add_to_another_patients_chart(client, login, register, db):
    a = register()
    b = register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    me = login(Role.PATIENT, patient_id=a.id, via="cookie")
    client.cookies.update(me["cookies"])
    client.get("/my")
    response = client.post(
        f"/patients/{b.id}/allergies",
        data={"csrf_token": _csrf(client), "substance": "Sulfa", "category": "medication"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and count(db, PatientAllergy) == 0
