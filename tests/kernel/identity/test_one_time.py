import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.identity.models import OneTimeToken, User
from careplane.kernel.identity.one_time import consume_one_time_token, issue_one_time_token
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.secrets import token_hash
from careplane.kernel.identity.service import send_email_verification
from careplane.kernel.identity.users import create_user
from careplane.kernel.mail import OutboxMail


def _user(db, email="pat@example.org"):
    with db.unit_of_work() as s:
        return create_user(s, email=email, display_name="Pat", roles=[Role.PATIENT]).id


def test_token_is_stored_hashed_and_single_use(db):
    uid = _user(db)
    with db.unit_of_work() as s:
        raw = issue_one_time_token(s, s.get(User, uid), "password_reset", timedelta(hours=1))
    with db.unit_of_work() as s:
        stored = s.scalar(select(OneTimeToken))
        assert stored.token_hash == token_hash(raw) and raw not in stored.token_hash
        assert consume_one_time_token(s, raw, "password_reset").id == uid
    with pytest.raises(ValidationFailed) as exc, db.unit_of_work() as s:
        consume_one_time_token(s, raw, "password_reset")
    assert "token" in exc.value.errors


def test_token_refused_for_other_purpose_unknown_or_expired(db):
    uid = _user(db)
    with db.unit_of_work() as s:
        raw = issue_one_time_token(s, s.get(User, uid), "password_reset", timedelta(hours=1))
    for value, purpose in [(raw, "email_verification"), ("not-a-token", "password_reset")]:
        with pytest.raises(ValidationFailed), db.unit_of_work() as s:
            consume_one_time_token(s, value, purpose)
    clock.travel(clock.now() + timedelta(hours=1, seconds=1))
    with pytest.raises(ValidationFailed), db.unit_of_work() as s:
        consume_one_time_token(s, raw, "password_reset")


def test_email_verification_link_confirms_once(db, client, settings):
    uid = _user(db)
    with db.unit_of_work() as s:
        send_email_verification(s, s.get(User, uid), settings)
    with db.unit_of_work() as s:
        mail = s.scalar(select(OutboxMail))
        assert mail.to_address == "pat@example.org"
    link = re.search(re.escape(settings.base_url) + r"(/verify-email/\S+)", mail.body).group(1)
    page = client.get(link)
    assert page.status_code == 200 and "confirmed" in page.text
    with db.unit_of_work() as s:
        assert s.get(User, uid).email_verified_at is not None
    again = client.get(link)
    assert again.status_code == 400 and "not valid" in again.text


def test_email_verification_link_expires_after_48_hours(db, client, settings):
    uid = _user(db)
    with db.unit_of_work() as s:
        send_email_verification(s, s.get(User, uid), settings)
        body = s.scalar(select(OutboxMail)).body
    link = re.search(r"(/verify-email/\S+)", body).group(1)
    clock.travel(clock.now() + timedelta(hours=48, minutes=1))
    assert client.get(link).status_code == 400
    with db.unit_of_work() as s:
        assert s.get(User, uid).email_verified_at is None
