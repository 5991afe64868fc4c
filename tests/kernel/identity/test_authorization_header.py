"""Only a valid bearer token skips CSRF; any other Authorization header is refused, never
authenticated by the session cookie that comes with it (kernel/web.py: bearer_token)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careplane.kernel.identity.models import ApiToken
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service
from careplane.kernel.patients.models import Patient
from careplane.kernel.web import CSRF_COOKIE
from tests.helpers import api_token, bearer, login
from tests.kernel.patients.conftest import SYSTEM, patient_data

NOT_BEARER = ["Basic eDp4", "Bearer", "Bearer   ", "Token cpt_x", "bearer-ish cpt_x"]


def tokens(db) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(ApiToken))


@pytest.mark.parametrize("authorization", NOT_BEARER)
def test_a_session_cookie_with_another_authorization_header_is_refused_not_authenticated(client, db, authorization):
    with db.unit_of_work() as s:
        patient = service.register_patient(s, SYSTEM, patient_data(), confirm_not_duplicate=True)
    login(client, db, role=Role.PATIENT, patient_id=patient.id)
    assert client.get("/api/v1/me").status_code == 200  # the cookie alone works
    before = tokens(db)
    headers = {"Authorization": authorization}

    created = client.post("/api/v1/me/tokens", json={"name": "sneaky"}, headers=headers)
    assert created.status_code == 401 and created.headers["content-type"] == "application/problem+json"
    assert created.json()["type"].endswith("/not-authenticated")
    changed = client.patch(f"/api/v1/patients/{patient.id}", json={"city": "Elsewhere"}, headers=headers)
    assert changed.status_code == 401
    assert client.get("/api/v1/me", headers=headers).status_code == 401  # reads too: never the cookie

    assert tokens(db) == before
    with db.unit_of_work() as s:
        assert s.get(Patient, patient.id).city != "Elsewhere"


def test_an_invalid_bearer_token_is_not_rescued_by_the_cookie(client, db):
    login(client, db, role=Role.CLINICIAN)
    answer = client.post("/api/v1/me/tokens", json={"name": "x"}, headers=bearer("cpt_made_up"))
    assert answer.status_code == 401
    assert client.get("/api/v1/me", headers=bearer("cpt_made_up")).status_code == 401


def test_a_valid_bearer_token_needs_no_csrf_and_a_cookie_alone_does(client, db):
    user = login(client, db, role=Role.CLINICIAN)
    assert client.post("/api/v1/me/tokens", json={"name": "x"}).status_code == 403  # cookie, no CSRF
    client.get("/profile")
    with_csrf = client.post(
        "/api/v1/me/tokens", json={"name": "x"}, headers={"X-CSRF-Token": client.cookies.get(CSRF_COOKIE)}
    )
    assert with_csrf.status_code == 201
    client.cookies.clear()
    registered = client.post(
        "/api/v1/patients",
        headers=bearer(api_token(db, user)),
        json={"given_name": "Bearer", "family_name": "Only", "birth_date": "1990-01-02", "sex_at_birth": "female"},
    )
    assert registered.status_code == 201  # (tokens themselves are made only from a web session)
