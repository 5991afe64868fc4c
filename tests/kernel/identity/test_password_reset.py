from datetime import timedelta

from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.service import create_api_token
from careplane.kernel.mail import OutboxMail
from careplane.kernel.web import SESSION_COOKIE

from .conftest import PASSWORD, link_in, load_user, log_in, mails_to, make_user, post, session_cookie

NEW_PASSWORD = "a brand new passphrase"


def _ask_reset(client, email: str):
    return post(client, "/password/forgot", {"email": email})


def test_forgot_password_answers_the_same_for_unknown_addresses(db, client):
    make_user(db, "pat@example.org")
    known = _ask_reset(client, "PAT@example.org")
    unknown = _ask_reset(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("PAT@example.org", "X") == unknown.text.replace("nobody@example.org", "X")
    assert len(mails_to(db, "pat@example.org")) == 1
    with db.unit_of_work() as s:
        assert s.scalar(select(OutboxMail).where(OutboxMail.to_address == "nobody@example.org")) is None
    assert _ask_reset(client, " ").status_code == 422


def test_reset_link_sets_password_unlocks_revokes_everything_and_works_once(db, client, app, strict):
    make_user(db, "pat@example.org")
    # An old session and an API token that must stop working.
    log_in(client, "pat@example.org")
    old_cookie = session_cookie(client)
    with db.unit_of_work() as s:
        raw_token, _ = create_api_token(s, s.scalar(select(User)), "script", via="web")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw_token}"}).status_code == 200
    # And a locked account.
    for _ in range(3):
        log_in(client, "pat@example.org", "wrong password!!")
    assert load_user(db, "pat@example.org").locked_until is not None

    _ask_reset(client, "pat@example.org")
    link = link_in(mails_to(db, "pat@example.org")[-1], "/password/reset/")
    form = client.get(link)
    assert form.status_code == 200 and 'autocomplete="new-password"' in form.text and "pat@example.org" in form.text

    weak = post(client, link, {"password": "short", "password_confirm": "short"})
    assert weak.status_code == 422 and "at least 12 characters" in weak.text and 'aria-invalid="true"' in weak.text
    mismatch = post(client, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422 and "do not match" in mismatch.text

    done = post(client, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    user = load_user(db, "pat@example.org")
    assert user.locked_until is None and user.failed_login_count == 0 and user.email_verified_at is not None

    client.cookies.set(SESSION_COOKIE, old_cookie)
    assert client.get("/profile", follow_redirects=False).headers["location"].startswith("/login")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw_token}"}).status_code == 401

    assert log_in(client, "pat@example.org", PASSWORD).status_code == 401
    assert log_in(client, "pat@example.org", NEW_PASSWORD).status_code == 303

    reused = post(client, link, {"password": "yet another passphrase", "password_confirm": "yet another passphrase"})
    assert reused.status_code == 400 and "not valid" in reused.text
    assert client.get(link).status_code == 400
    assert log_in(client, "pat@example.org", NEW_PASSWORD).status_code == 303


def test_reset_link_expires_after_an_hour(db, client):
    make_user(db, "pat@example.org")
    _ask_reset(client, "pat@example.org")
    link = link_in(mails_to(db, "pat@example.org")[-1], "/password/reset/")
    clock.travel(clock.now() + timedelta(minutes=61))
    assert client.get(link).status_code == 400
    assert post(client, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 400
    assert log_in(client, "pat@example.org", NEW_PASSWORD).status_code == 401


def test_no_reset_mail_for_deactivated_accounts(db, client):
    make_user(db, "gone@example.org", Role.BILLER)
    with db.unit_of_work() as s:
        s.scalar(select(User)).is_active = False
    assert _ask_reset(client, "gone@example.org").status_code == 200
    assert mails_to(db, "gone@example.org") == []


def test_using_one_reset_link_voids_the_older_ones(db, client):
    make_user(db, "pat@example.org")
    _ask_reset(client, "pat@example.org")
    _ask_reset(client, "pat@example.org")
    older, newer = (link_in(m, "/password/reset/") for m in mails_to(db, "pat@example.org"))
    assert older != newer
    assert post(client, newer, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 303
    assert client.get(older).status_code == 400


def test_reset_mails_per_account_are_limited_per_hour(db, client):
    make_user(db, "pat@example.org")
    answers = {_ask_reset(client, "pat@example.org").status_code for _ in range(5)}
    assert answers == {200}
    assert len(mails_to(db, "pat@example.org")) == 3
    clock.travel(clock.now() + timedelta(minutes=61))
    _ask_reset(client, "pat@example.org")
    assert len(mails_to(db, "pat@example.org")) == 4
