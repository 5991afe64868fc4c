from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.identity.models import LoginAttempt, User, WebSession
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE

from .conftest import PASSWORD, csrf, load_user, log_in, make_user, post, session_cookie


def _attempts(db):
    with db.unit_of_work() as s:
        return list(s.scalars(select(LoginAttempt).order_by(LoginAttempt.at)))


def test_patient_logs_in_with_a_hardened_session_cookie(db, client):
    make_user(db, "pat@example.org", Role.PATIENT)
    response = log_in(client, "Pat@Example.org ", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    set_cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)][0].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" not in set_cookie
    profile = client.get("/profile")
    assert profile.status_code == 200 and "pat@example.org" in profile.text
    assert [(a.email, a.succeeded) for a in _attempts(db)] == [("pat@example.org", True)]
    assert load_user(db, "pat@example.org").last_login_at is not None


def test_secure_cookie_when_configured(db, app, settings):
    settings.secure_cookies = True
    make_user(db, "pat@example.org")
    with TestClient(app, base_url="https://testserver") as client:
        response = log_in(client, "pat@example.org")
    cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)][0].lower()
    assert "secure" in cookie


def test_every_login_makes_a_new_session_and_ends_the_previous_one(db, client):
    make_user(db, "pat@example.org")
    log_in(client, "pat@example.org")
    first = session_cookie(client)
    log_in(client, "pat@example.org")
    second = session_cookie(client)
    assert first and second and first != second
    with db.unit_of_work() as s:
        sessions = list(s.scalars(select(WebSession).order_by(WebSession.created_at)))
    assert len(sessions) == 2 and sessions[0].revoked_at is not None and sessions[1].revoked_at is None
    client.cookies.set(SESSION_COOKIE, first)
    assert client.get("/profile", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_email_get_the_same_answer(db, client):
    make_user(db, "pat@example.org")
    wrong = log_in(client, "pat@example.org", "not the password at all")
    unknown = log_in(client, "nobody@example.org", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "E-mail or password is incorrect." in response.text
        assert session_cookie(client) is None
    assert [(a.email, a.succeeded, a.reason) for a in _attempts(db)] == [
        ("pat@example.org", False, "bad_credentials"),
        ("nobody@example.org", False, "bad_credentials"),
    ]
    assert load_user(db, "pat@example.org").failed_login_count == 1


def test_next_is_kept_for_local_paths_only(db, client):
    make_user(db, "pat@example.org")
    assert log_in(client, "pat@example.org", next="/profile").headers["location"] == "/profile"
    for evil in ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]:
        assert log_in(client, "pat@example.org", next=evil).headers["location"] == "/"
    assert client.get("/login?next=/profile", follow_redirects=False).headers["location"] == "/profile"
    post(client, "/logout")
    assert 'name="next" value="/profile"' in client.get("/login?next=/profile").text
    assert 'name="next" value="/"' in client.get("/login?next=https://evil.example").text


def test_pages_send_visitors_to_log_in_with_next(db, client):
    response = client.get("/profile", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/profile"


def test_lockout_after_threshold_then_unlock_after_time(db, client, strict):
    make_user(db, "pat@example.org")
    for _ in range(2):
        assert log_in(client, "pat@example.org", "wrong password!!").status_code == 401
    locked = log_in(client, "pat@example.org", "wrong password!!")
    assert locked.status_code == 423 and "locked until" in locked.text
    user = load_user(db, "pat@example.org")
    assert user.locked_until is not None
    # The right password does not open a locked account.
    still = log_in(client, "pat@example.org", PASSWORD)
    assert still.status_code == 423 and session_cookie(client) is None
    assert user.locked_until.strftime("%H:%M") in still.text
    clock.travel(clock.now() + timedelta(minutes=14))
    assert log_in(client, "pat@example.org", PASSWORD).status_code == 423
    clock.travel(clock.now() + timedelta(minutes=2))
    assert log_in(client, "pat@example.org", PASSWORD).status_code == 303
    user = load_user(db, "pat@example.org")
    assert user.failed_login_count == 0 and user.locked_until is None


def test_lock_runs_out_and_counting_starts_afresh(db, client, strict):
    make_user(db, "pat@example.org")
    for _ in range(3):
        log_in(client, "pat@example.org", "wrong password!!")
    clock.travel(clock.now() + timedelta(minutes=16))
    assert log_in(client, "pat@example.org", "wrong password!!").status_code == 401
    assert log_in(client, "pat@example.org", "wrong password!!").status_code == 401
    assert log_in(client, "pat@example.org", "wrong password!!").status_code == 423


def test_unknown_email_locks_like_a_real_account(db, client, strict):
    statuses = [log_in(client, "ghost@example.org", "wrong password!!").status_code for _ in range(4)]
    assert statuses == [401, 401, 423, 423]
    clock.travel(clock.now() + timedelta(minutes=16))
    assert log_in(client, "ghost@example.org", "wrong password!!").status_code == 401


def test_too_many_failures_from_one_address_get_429(db, client, strict):
    strict.ip_failure_limit = 4
    strict.lockout_threshold = 100
    make_user(db, "pat@example.org")
    for i in range(4):
        assert log_in(client, f"guess{i}@example.org", "wrong password!!").status_code == 401
    refused = log_in(client, "pat@example.org", PASSWORD)
    assert refused.status_code == 429 and "wait 10 minutes" in refused.text
    assert refused.headers["retry-after"] == "600"
    assert session_cookie(client) is None
    clock.travel(clock.now() + timedelta(minutes=11))
    assert log_in(client, "pat@example.org", PASSWORD).status_code == 303


def test_deactivated_user_cannot_log_in(db, client):
    make_user(db, "gone@example.org", Role.BILLER, mfa=True)
    with db.unit_of_work() as s:
        s.scalar(select(User).where(User.email == "gone@example.org")).is_active = False
    response = log_in(client, "gone@example.org", PASSWORD)
    assert response.status_code == 403 and "deactivated" in response.text
    assert session_cookie(client) is None
    # Without the right password it says nothing about the account.
    assert log_in(client, "gone@example.org", "wrong password!!").status_code == 401


def test_logout_revokes_the_session(db, client):
    make_user(db, "pat@example.org")
    log_in(client, "pat@example.org")
    cookie = session_cookie(client)
    response = post(client, "/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    with db.unit_of_work() as s:
        assert s.scalar(select(WebSession)).revoked_at is not None
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/profile", follow_redirects=False).headers["location"].startswith("/login")


def test_posts_without_csrf_token_are_refused(db, client):
    make_user(db, "pat@example.org")
    csrf(client)
    no_token = client.post("/login", data={"email": "pat@example.org", "password": PASSWORD}, follow_redirects=False)
    assert no_token.status_code == 403 and session_cookie(client) is None
    wrong_token = client.post(
        "/login",
        data={"email": "pat@example.org", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert wrong_token.status_code == 403
    log_in(client, "pat@example.org")
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/profile", follow_redirects=False).status_code == 200
