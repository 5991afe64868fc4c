"""Single-use links (password reset, e-mail verification): the raw token goes out once, its hash stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.identity.models import OneTimeToken, User
from careplane.kernel.identity.secrets import new_token, token_hash

PASSWORD_RESET = "password_reset"
EMAIL_VERIFICATION = "email_verification"

INVALID_LINK = "This link is not valid any more. It may have expired or been used already."


def issue_one_time_token(session: Session, user: User, purpose: str, ttl: timedelta) -> str:
    """Store a new single-use token for ``user`` and return the raw value (to put in a link)."""
    raw = new_token()
    now = clock.now()
    session.add(
        OneTimeToken(user_id=user.id, purpose=purpose, token_hash=token_hash(raw), created_at=now, expires_at=now + ttl)
    )
    session.flush()
    return raw


def _usable(session: Session, raw: str, purpose: str) -> tuple[OneTimeToken, User]:
    row = session.execute(
        select(OneTimeToken, User)
        .join(User, User.id == OneTimeToken.user_id)
        .where(OneTimeToken.token_hash == token_hash(raw), OneTimeToken.purpose == purpose)
        .with_for_update(of=OneTimeToken)
    ).first()
    if row is None:
        raise ValidationFailed({"token": INVALID_LINK})
    token, user = row
    if token.used_at is not None or clock.now() >= token.expires_at or not user.is_active:
        raise ValidationFailed({"token": INVALID_LINK})
    return token, user


def check_one_time_token(session: Session, raw: str, purpose: str) -> User:
    """The token's user, without using it up (to show a form before the token is spent)."""
    return _usable(session, raw, purpose)[1]


def consume_one_time_token(session: Session, raw: str, purpose: str) -> User:
    """Use the token up and return its user; unknown, expired or used tokens raise ValidationFailed."""
    token, user = _usable(session, raw, purpose)
    token.used_at = clock.now()
    session.flush()
    return user


def void_one_time_tokens(session: Session, user: User, purpose: str) -> None:
    """Use up every outstanding token of this purpose (older reset links die with the one that was used)."""
    session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.user_id == user.id, OneTimeToken.purpose == purpose, OneTimeToken.used_at.is_(None))
        .values(used_at=clock.now())
    )


def recently_issued(session: Session, user: User, purpose: str, within: timedelta) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(OneTimeToken)
            .where(
                OneTimeToken.user_id == user.id,
                OneTimeToken.purpose == purpose,
                OneTimeToken.created_at > clock.now() - within,
            )
        )
        or 0
    )
