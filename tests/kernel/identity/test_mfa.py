import re

from sqlalchemy import select

from careplane.kernel.identity.models import RecoveryCode, WebSession
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE

from .conftest import PASSWORD, code_for, full_login, load_user, log_in, make_user, next_step, post, session_cookie


def _secret_from(page_html: str) -> str:
    return re.search(r'id="mfa-secret">([A-Z2-7 ]+)<', page_html).group(1).replace(" ", "")


def _codes_from(page_html: str) -> list[str]:
    return re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page_html)


def test_staff_without_mfa_must_enrol_before_anything_else(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN)
    response = log_in(client, "doc@example.org", next="/profile")
    assert response.status_code == 303 and response.headers["location"] == "/mfa/enrol?next=/profile"
    # Every page, and the /mfa step itself, sends them to enrolment.
    assert client.get("/profile", follow_redirects=False).headers["location"] == "/mfa"
    assert client.get("/mfa", follow_redirects=False).headers["location"] == "/mfa/enrol"
    assert client.get("/api/v1/me").status_code == 401

    page = client.get("/mfa/enrol?next=/profile")
    assert page.status_code == 200 and "<svg" in page.text and 'autocomplete="one-time-code"' in page.text
    assert 'inputmode="numeric"' in page.text
    secret = _secret_from(page.text)
    assert secret == load_user(db, "doc@example.org").mfa_secret
    # Reloading shows the same key, so a scanned QR code stays valid.
    assert _secret_from(client.get("/mfa/enrol").text) == secret

    wrong = post(client, "/mfa/enrol", {"code": "000000" if code_for(secret) != "000000" else "111111"})
    assert wrong.status_code == 422 and "not right" in wrong.text
    assert load_user(db, "doc@example.org").mfa_enabled is False

    done = post(client, "/mfa/enrol", {"code": code_for(secret), "next": "/profile"})
    assert done.status_code == 200
    codes = _codes_from(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/profile"' in done.text
    with db.unit_of_work() as s:
        stored = list(s.scalars(select(RecoveryCode)))
        assert len(stored) == 10 and all(c.code_hash not in codes for c in stored)
        assert s.scalar(select(WebSession)).mfa_verified is True
    assert client.get("/profile").status_code == 200
    assert load_user(db, "doc@example.org").mfa_enabled is True


def test_staff_with_mfa_gives_a_code_after_the_password(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    secret = load_user(db, "doc@example.org").mfa_secret
    response = log_in(client, "doc@example.org", next="/profile")
    assert response.headers["location"] == "/mfa?next=/profile"
    assert client.get("/profile", follow_redirects=False).headers["location"] == "/mfa"
    assert client.get("/mfa/enrol", follow_redirects=False).headers["location"] == "/mfa"
    page = client.get("/mfa?next=/profile")
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
    assert "careplane users totp" not in page.text  # only the demo says where a code comes from
    ok = post(client, "/mfa", {"code": code_for(secret), "next": "/profile"})
    assert ok.status_code == 303 and ok.headers["location"] == "/profile"
    assert client.get("/profile").status_code == 200


def test_code_one_step_old_is_accepted_but_two_steps_is_not(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    secret = load_user(db, "doc@example.org").mfa_secret
    log_in(client, "doc@example.org")
    assert post(client, "/mfa", {"code": code_for(secret, -2)}).status_code == 422
    assert post(client, "/mfa", {"code": code_for(secret, -1)}).status_code == 303


def test_a_code_cannot_be_replayed(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    secret = load_user(db, "doc@example.org").mfa_secret
    code = code_for(secret)
    log_in(client, "doc@example.org")
    assert post(client, "/mfa", {"code": code}).status_code == 303
    post(client, "/logout")
    log_in(client, "doc@example.org")
    replay = post(client, "/mfa", {"code": code})
    assert replay.status_code == 422 and "not right" in replay.text
    # An earlier step than the one used is refused too.
    assert post(client, "/mfa", {"code": code_for(secret, -1)}).status_code == 422
    next_step()
    assert post(client, "/mfa", {"code": code_for(secret)}).status_code == 303


def test_five_wrong_codes_end_the_session(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    secret = load_user(db, "doc@example.org").mfa_secret
    log_in(client, "doc@example.org")
    cookie = session_cookie(client)
    bad = "123456" if code_for(secret) != "123456" else "654321"
    for left in (4, 3, 2, 1):
        response = post(client, "/mfa", {"code": bad})
        assert response.status_code == 422 and f"{left} more tr" in response.text
    fifth = post(client, "/mfa", {"code": bad})
    assert fifth.status_code == 303 and fifth.headers["location"] == "/login"
    with db.unit_of_work() as s:
        assert s.scalar(select(WebSession)).revoked_at is not None
    client.cookies.set(SESSION_COOKIE, cookie)
    assert post(client, "/mfa", {"code": code_for(secret)}).headers["location"].startswith("/login")


def test_recovery_code_works_once(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN)
    log_in(client, "doc@example.org")
    secret = _secret_from(client.get("/mfa/enrol").text)
    codes = _codes_from(post(client, "/mfa/enrol", {"code": code_for(secret)}).text)
    post(client, "/logout")

    log_in(client, "doc@example.org")
    used = post(client, "/mfa", {"recovery_code": codes[3].upper().replace("-", " ")})
    assert used.status_code == 303 and used.headers["location"] == "/"
    assert client.get("/profile").status_code == 200
    assert "9 unused recovery codes" in client.get("/profile").text
    post(client, "/logout")

    log_in(client, "doc@example.org")
    again = post(client, "/mfa", {"recovery_code": codes[3]})
    assert again.status_code == 422 and 'id="f-recovery_code-error"' in again.text
    assert client.get("/profile", follow_redirects=False).headers["location"] == "/mfa"


def test_patient_may_turn_on_mfa_and_is_then_asked_for_it(db, client):
    make_user(db, "pat@example.org", Role.PATIENT)
    full_login(client, db, "pat@example.org")  # no second factor asked
    assert "Turn on two-step verification" in client.get("/profile").text
    secret = _secret_from(client.get("/mfa/enrol").text)
    codes = _codes_from(post(client, "/mfa/enrol", {"code": code_for(secret), "next": "/profile"}).text)
    assert len(codes) == 10
    post(client, "/logout")
    assert log_in(client, "pat@example.org").headers["location"] == "/mfa"
    next_step()
    assert post(client, "/mfa", {"code": code_for(secret)}).status_code == 303


def test_regenerating_recovery_codes_needs_the_password_and_replaces_the_old_ones(db, client):
    make_user(db, "pat@example.org", Role.PATIENT)
    full_login(client, db, "pat@example.org")
    secret = _secret_from(client.get("/mfa/enrol").text)
    old = _codes_from(post(client, "/mfa/enrol", {"code": code_for(secret)}).text)

    refused = post(client, "/profile/recovery-codes", {"recovery_password": "not my password"})
    assert refused.status_code == 422 and "not correct" in refused.text
    new = _codes_from(post(client, "/profile/recovery-codes", {"recovery_password": PASSWORD}).text)
    assert len(new) == 10 and not set(new) & set(old)

    post(client, "/logout")
    log_in(client, "pat@example.org")
    assert post(client, "/mfa", {"recovery_code": old[0]}).status_code == 422
    assert post(client, "/mfa", {"recovery_code": new[0]}).status_code == 303


def test_in_the_demo_the_two_step_page_says_how_to_get_the_code(db, settings):
    from fastapi.testclient import TestClient

    from careplane.app import create_app

    demo = TestClient(create_app(settings.model_copy(update={"demo_mailbox": True}), db))
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    log_in(demo, "doc@example.org")
    page = demo.get("/mfa")
    assert ".venv/bin/careplane users totp doc@example.org" in page.text
