"""The registry's rules on possible duplicates hold on every edge, because the service holds them:
patients do not see pairs (not even whether their own record has any), someone who may not review
pairs is refused alike for a real pair and a made-up one, and the register form's refusal is audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.models import PossibleDuplicate
from careplane.kernel.web import CSRF_COOKIE


def denied(db, user_id) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor_user_id == user_id, AuditEntry.outcome == "denied")
        )


@pytest.fixture
def pair(register, db):  # noqa: ANN001, ANN201
    first = register()
    second = register(given_name="Jon")
    with db.unit_of_work() as s:
        found = s.scalar(select(PossibleDuplicate))
    assert found is not None
    return first, second, found


def test_api_a_patient_is_refused_their_pairs_whether_or_not_there_are_any(client, login, register, db):
    alone = register(given_name="Zed", family_name="Unique", birth_date="1950-01-01", email="zed@example.org")
    me = login(Role.PATIENT, patient_id=alone.id)
    refused = client.get(f"/api/v1/patients/{alone.id}/duplicates", headers=me["headers"])
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert denied(db, me["user_id"]) == 1
    # staff still get the (empty) list
    staff = login(Role.CLINICIAN)
    assert client.get(f"/api/v1/patients/{alone.id}/duplicates", headers=staff["headers"]).json() == []


def test_api_dismissing_a_real_pair_and_a_made_up_one_answer_alike(client, login, pair, db):
    first, second, real = pair
    me = login(Role.PATIENT, patient_id=first.id)
    answers = [
        client.post(f"/api/v1/patients/{second.id}/duplicates/{pair_id}/dismiss", headers=me["headers"])
        for pair_id in (real.id, uuid.uuid4())
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() | {"instance": None} == answers[1].json() | {"instance": None}
    pharmacist = login(Role.PHARMACIST)
    for pair_id in (real.id, uuid.uuid4()):
        assert (
            client.post(
                f"/api/v1/patients/{first.id}/duplicates/{pair_id}/dismiss", headers=pharmacist["headers"]
            ).status_code
            == 403
        )
    assert denied(db, pharmacist["user_id"]) == 2
    with db.unit_of_work() as s:
        assert s.get(PossibleDuplicate, real.id).status == "open"


def _page_client(client, login, role, **kw):  # noqa: ANN001, ANN003, ANN202
    who = login(role, via="cookie", **kw)
    client.cookies.update(who["cookies"])
    client.get("/login")
    return who, client.cookies.get(CSRF_COOKIE)


def test_pages_dismissing_a_real_pair_and_a_made_up_one_answer_alike(client, login, pair, db):
    first, second, real = pair
    me, token = _page_client(client, login, Role.PATIENT, patient_id=first.id)
    answers = [
        client.post(
            f"/patients/{second.id}/duplicates/{pair_id}/dismiss", data={"csrf_token": token}, follow_redirects=False
        )
        for pair_id in (real.id, uuid.uuid4())
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert denied(db, me["user_id"]) == 2
    # the patient's own chart shows no pair, refuses nothing and records no read of the other person
    chart = client.get(f"/patients/{first.id}")
    assert chart.status_code == 200 and second.mrn not in chart.text
    assert denied(db, me["user_id"]) == 2


def test_the_register_form_refuses_with_an_audited_denial(client, login, db):
    who, _ = _page_client(client, login, Role.PHARMACIST)
    refused = client.get("/patients/new")
    assert refused.status_code == 403 and "Access denied" in refused.text and 'name="given_name"' not in refused.text
    assert denied(db, who["user_id"]) == 1
    with db.unit_of_work() as s:
        row = s.scalar(select(AuditEntry).where(AuditEntry.actor_user_id == who["user_id"]))
        assert row.action == "patient.register" and row.patient_id is None
    _page_client(client, login, Role.CLINICIAN)
    assert client.get("/patients/new").status_code == 200
