"""Merging from the chart: the "Merge…" action, the side-by-side confirmation, and where a merged record leads."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service
from careplane.kernel.patients.models import Patient, PossibleDuplicate
from careplane.kernel.web import CSRF_COOKIE
from tests import a11y

from .conftest import SYSTEM


def count(db, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def as_staff(client, login, role):  # noqa: ANN001, ANN201
    who = login(role, via="cookie")
    client.cookies.update(who["cookies"])
    return who


def csrf(client) -> str:  # noqa: ANN001
    client.get("/login")
    return client.cookies.get(CSRF_COOKIE)


@pytest.fixture
def two(register, db):  # noqa: ANN001, ANN201
    sparse = register(email=None, phone=None, state=None, postal_code=None)
    full = register(given_name="Jon", middle_name="Quincy", city="Albany")
    with db.unit_of_work() as s:
        pair = s.scalar(select(PossibleDuplicate))
    return sparse, full, pair


def test_merge_from_the_chart_through_the_confirmation_to_the_survivor(client, login, db, two):
    sparse, full, pair = two
    as_staff(client, login, Role.OPERATIONS_LEAD)
    token = csrf(client)
    chart = client.get(f"/patients/{full.id}")
    merge_url = f"/patients/{full.id}/duplicates/{pair.id}/merge"
    assert f'href="{merge_url}"' in chart.text and "Merge…" in chart.text

    page = client.get(merge_url)
    assert page.status_code == 200 and a11y.problems(page.text) == []
    assert sparse.mrn in page.text and full.mrn in page.text and "Jonathan Smith" in page.text
    assert page.text.count('type="radio"') == 2
    assert not re.search(r'type="radio"[^>]*\bchecked\b', page.text)  # staff choose, nothing preset
    # keeping the sparse record fills its blanks from the fuller one; the other way round fills nothing
    assert f"filled from MRN {full.mrn}: middle name, phone, e-mail, city" in page.text
    assert f"Nothing blank here is filled from MRN {sparse.mrn}" in page.text
    assert "differs" in page.text  # the legal names differ

    assert client.post(merge_url, data={"survivor": str(sparse.id)}).status_code == 403  # no CSRF token
    unchosen = client.post(merge_url, data={"csrf_token": token})
    assert unchosen.status_code == 422 and "Choose which record is kept." in unchosen.text
    assert 'aria-describedby="f-survivor-error"' in unchosen.text and a11y.problems(unchosen.text) == []

    done = client.post(merge_url, data={"survivor": str(sparse.id), "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/patients/{sparse.id}"
    survivor_chart = client.get(done.headers["location"])
    assert f"Merged MRN {full.mrn} into MRN {sparse.mrn}." in survivor_chart.text
    assert "Quincy" in survivor_chart.text and "Possible duplicate" not in survivor_chart.text
    assert f"Merged into this record: MRN {full.mrn}" in survivor_chart.text
    with db.unit_of_work() as s:
        assert s.get(Patient, full.id).merged_into_id == sparse.id
        assert s.get(PossibleDuplicate, pair.id).status == "merged"

    # the merged record's chart leads to the survivor, saying why
    old = client.get(f"/patients/{full.id}", follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"] == f"/patients/{sparse.id}"
    shown = client.get(f"/patients/{full.id}")
    assert f"MRN {full.mrn} was merged into this record" in shown.text and sparse.mrn in shown.text
    # and the pair, now decided, cannot be merged again
    assert client.post(merge_url, data={"survivor": str(sparse.id), "csrf_token": token}).status_code == 409


def test_a_merged_record_cannot_be_edited_through_the_form(client, login, db, two):
    sparse, full, pair = two
    as_staff(client, login, Role.OPERATIONS_LEAD)
    token = csrf(client)
    client.post(
        f"/patients/{full.id}/duplicates/{pair.id}/merge", data={"survivor": str(sparse.id), "csrf_token": token}
    )
    form = client.get(f"/patients/{full.id}/edit", follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == f"/patients/{sparse.id}"
    saved = client.post(
        f"/patients/{full.id}/edit",
        data={
            "given_name": "Jon",
            "family_name": "Smith",
            "birth_date": "1984-07-21",
            "sex_at_birth": "male",
            "city": "Troy",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 409 and "can no longer be changed" in saved.text
    assert f'href="/patients/{sparse.id}"' in saved.text and a11y.problems(saved.text) == []
    with db.unit_of_work() as s:
        assert s.get(Patient, full.id).city == "Albany"


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.BILLER])
def test_staff_without_patient_merge_see_no_merge_action_and_are_refused(client, login, db, two, role):
    sparse, full, pair = two
    who = as_staff(client, login, role)
    token = csrf(client)
    assert "Merge…" not in client.get(f"/patients/{full.id}").text
    merge_url = f"/patients/{full.id}/duplicates/{pair.id}/merge"
    assert client.get(merge_url).status_code == 403
    assert client.post(merge_url, data={"survivor": str(sparse.id), "csrf_token": token}).status_code == 403
    assert (
        count(
            db,
            AuditEntry,
            AuditEntry.actor_user_id == who["user_id"],
            AuditEntry.outcome == "denied",
            AuditEntry.action == "patient.merge",
        )
        == 2
    )
    assert count(db, Patient, Patient.merged_into_id.is_not(None)) == 0


def test_a_portal_account_of_the_merged_record_now_opens_the_survivor(client, login, db, two):
    sparse, full, pair = two
    patient = login(Role.PATIENT, patient_id=full.id, via="cookie")
    as_staff(client, login, Role.OPERATIONS_LEAD)
    token = csrf(client)
    client.post(
        f"/patients/{full.id}/duplicates/{pair.id}/merge", data={"survivor": str(sparse.id), "csrf_token": token}
    )
    client.cookies.clear()
    client.cookies.update(patient["cookies"])
    mine = client.get("/my")
    assert mine.status_code == 200 and sparse.mrn in mine.text and "Quincy" in mine.text


def test_the_edit_form_keeps_every_contact_a_merge_brought(client, login, db, two):
    sparse, full, pair = two
    with db.unit_of_work() as s:
        service.set_emergency_contacts(
            s, SYSTEM, sparse.id, [{"name": "Ann Smith", "relationship": "spouse", "phone": "(212) 555-0177"}]
        )
        service.set_emergency_contacts(
            s,
            SYSTEM,
            full.id,
            [
                {"name": "Bob Smith", "relationship": "brother", "phone": "(212) 555-0188"},
                {"name": "Cy Smith", "relationship": "son", "phone": "(212) 555-0199"},
            ],
        )
    as_staff(client, login, Role.OPERATIONS_LEAD)
    token = csrf(client)
    client.post(
        f"/patients/{full.id}/duplicates/{pair.id}/merge", data={"survivor": str(sparse.id), "csrf_token": token}
    )
    form = client.get(f"/patients/{sparse.id}/edit")
    assert 'name="contact_2_name"' in form.text and 'value="Cy Smith"' in form.text
    fields = {
        "given_name": "Jonathan",
        "family_name": "Smith",
        "birth_date": "1984-07-21",
        "sex_at_birth": "male",
        "city": "Albany",
        "state": "NY",
        "phone": "212-555-0123",
        "preferred_channel": "phone",
        "allow_phone": "on",
        "csrf_token": token,
    }
    for i, (name, relationship, phone) in enumerate(
        [
            ("Ann Smith", "spouse", "2125550177"),
            ("Bob Smith", "brother", "2125550188"),
            ("Cy Smith", "son", "2125550199"),
        ]
    ):
        fields.update(
            {f"contact_{i}_name": name, f"contact_{i}_relationship": relationship, f"contact_{i}_phone": phone}
        )
    saved = client.post(f"/patients/{sparse.id}/edit", data=fields, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with db.unit_of_work() as s:
        assert sorted(c.name for c in s.get(Patient, sparse.id).emergency_contacts) == [
            "Ann Smith",
            "Bob Smith",
            "Cy Smith",
        ]
