"""Helpers for the identity tests: make users, log in through the real pages, compute TOTP codes."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.mail import OutboxMail
from careplane.kernel.web import CSRF_COOKIE, SESSION_COOKIE
from tests.helpers import home_unit

PASSWORD = "correct horse battery"


def make_user(db, email: str, *roles: Role, password: str | None = PASSWORD, mfa: bool = False, **fields) -> User:
    fields.setdefault("unit", home_unit(list(roles)))
    # a patient's account is held until its address is confirmed (identity.confirmation): confirmed
    # unless a test says otherwise; staff accounts keep theirs unconfirmed, which holds nothing
    fields.setdefault("email_verified", not roles or set(roles) == {Role.PATIENT})
    with db.unit_of_work() as s:
        return create_user(
            s,
            email=email,
            display_name=email.split("@")[0].title(),
            roles=roles or [Role.PATIENT],
            password=password,
            mfa_secret=pyotp.random_base32() if mfa else None,
            **fields,
        )


def load_user(db, email: str) -> User:
    with db.unit_of_work() as s:
        return s.scalar(select(User).where(User.email == email))


def csrf(client) -> str:
    if not client.cookies.get(CSRF_COOKIE):
        client.get("/login")
    return client.cookies.get(CSRF_COOKIE)


def post(client, url: str, data: dict | None = None, **kwargs):
    return client.post(url, data={"csrf_token": csrf(client), **(data or {})}, follow_redirects=False, **kwargs)


def log_in(client, email: str, password: str = PASSWORD, next: str | None = None):
    data = {"email": email, "password": password}
    if next is not None:
        data["next"] = next
    return post(client, "/login", data)


def code_for(secret: str, step_offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(clock.now()) + step_offset)


def next_step() -> None:
    """Move the clock to the next 30-second step, so a fresh TOTP code exists."""
    clock.travel(clock.now() + timedelta(seconds=30))


def full_login(client, db, email: str, password: str = PASSWORD) -> None:
    """Password then (if owed) the TOTP step; asserts it ends fully logged in."""
    response = log_in(client, email, password)
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/mfa"):
        next_step()
        done = post(client, "/mfa", {"code": code_for(load_user(db, email).mfa_secret)})
        assert done.status_code == 303 and done.headers["location"] == "/", done.text
    assert client.get("/profile", follow_redirects=False).status_code == 200


def session_cookie(client) -> str | None:
    return client.cookies.get(SESSION_COOKIE)


def mails_to(db, address: str) -> list[OutboxMail]:
    with db.unit_of_work() as s:
        return list(
            s.scalars(select(OutboxMail).where(OutboxMail.to_address == address).order_by(OutboxMail.created_at))
        )


def link_in(mail: OutboxMail, path_prefix: str) -> str:
    return re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S+)", mail.body).group(1)


@pytest.fixture
def strict(settings):
    """Small limits so lockout and rate limiting are quick to reach."""
    settings.lockout_threshold = 3
    settings.lockout_minutes = 15
    settings.ip_failure_limit = 100
    settings.ip_failure_window_minutes = 10
    return settings
