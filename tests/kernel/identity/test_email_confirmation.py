"""A self-registered account is held until its e-mail address is confirmed: its web session sees
only the page asking to confirm, and the API refuses it with a clear problem."""

from __future__ import annotations

from careplane.kernel.access import Actor
from careplane.kernel.identity.confirmation import RESENDS_PER_HOUR
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service as patients
from tests.helpers import api_token, bearer
from tests.kernel.patients.conftest import patient_data

from .conftest import full_login, link_in, log_in, mails_to, make_user, post

EMAIL = "new@example.org"


def _held(db):  # noqa: ANN001, ANN202
    """A patient's own account (linked to their record) whose address nobody has confirmed."""
    with db.unit_of_work() as s:
        patient = patients.register_patient(
            s, Actor.for_system("tests"), patient_data(email=EMAIL), confirm_not_duplicate=True
        )
    return make_user(db, EMAIL, patient_id=patient.id, email_verified=False), patient


def _problem(response) -> dict:  # noqa: ANN001
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/email-unconfirmed") and EMAIL in body["detail"]
    return body


def test_every_page_but_the_confirmation_page_sends_an_unconfirmed_account_there(db, client):
    _, patient = _held(db)
    assert log_in(client, EMAIL).status_code == 303
    for url in ("/", "/my", "/profile", f"/patients/{patient.id}", "/register"):
        response = client.get(url, follow_redirects=False)
        assert (response.status_code, response.headers.get("location")) == (303, "/confirm-email"), url
    page = client.get("/confirm-email")
    assert page.status_code == 200 and "Confirm your e-mail address" in page.text and EMAIL in page.text
    assert patient.legal_name not in page.text  # nothing of the record
    refused = post(client, "/my", {"given_name": "Mallory"})
    assert refused.status_code == 303 and refused.headers["location"] == "/confirm-email"
    with db.unit_of_work() as s:
        assert s.get(type(patient), patient.id).given_name == patient.given_name


def test_the_api_refuses_an_unconfirmed_account_by_session_and_by_token(db, client):
    user, patient = _held(db)
    log_in(client, EMAIL)
    _problem(client.get("/api/v1/me"))
    token = bearer(api_token(db, user))
    client.cookies.clear()
    _problem(client.get("/api/v1/me", headers=token))
    _problem(client.get(f"/api/v1/patients/{patient.id}", headers=token))  # the fast read path too


def test_a_new_link_from_the_page_and_once_confirmed_everything_opens(db, client):
    user, patient = _held(db)
    log_in(client, EMAIL)
    sent = post(client, "/confirm-email")
    assert sent.status_code == 303 and sent.headers["location"] == "/confirm-email"
    assert len(mails_to(db, EMAIL)) == 1
    for _ in range(RESENDS_PER_HOUR):
        post(client, "/confirm-email")
    assert len(mails_to(db, EMAIL)) == RESENDS_PER_HOUR  # no more than that in an hour
    assert "several links" in client.get("/confirm-email").text
    assert client.get(link_in(mails_to(db, EMAIL)[-1], "/verify-email/")).status_code == 200
    assert client.get("/my").status_code == 200
    assert client.get("/confirm-email", follow_redirects=False).headers["location"] == "/"
    assert client.get("/api/v1/me", headers=bearer(api_token(db, user))).status_code == 200


def test_staff_accounts_are_not_held(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)  # e-mail not confirmed
    full_login(client, db, "doc@example.org")
    assert client.get("/api/v1/me").json()["email_verified"] is False
