"""Identity use cases: logging in, second factors, password resets, profiles, tokens, administration.

Pages, the JSON API and the CLI call these; the rules live here only.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.identity.models import User
from careplane.kernel.identity.one_time import EMAIL_VERIFICATION, consume_one_time_token, issue_one_time_token
from careplane.kernel.mail import send_mail
from careplane.settings import Settings

EMAIL_VERIFICATION_TTL = timedelta(hours=48)


# ---------------------------------------------------------------- e-mail verification


def send_email_verification(session: Session, user: User, settings: Settings) -> None:
    raw = issue_one_time_token(session, user, EMAIL_VERIFICATION, EMAIL_VERIFICATION_TTL)
    send_mail(
        session,
        user.email,
        "Confirm your e-mail address",
        f"Hello {user.display_name},\n\n"
        f"Please confirm that this is your e-mail address by opening this link:\n\n"
        f"{settings.base_url}/verify-email/{raw}\n\n"
        f"The link works once and expires in 48 hours. If you did not sign up for careplane, ignore this message.\n",
    )


def verify_email(session: Session, raw: str) -> User:
    user = consume_one_time_token(session, raw, EMAIL_VERIFICATION)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    return user
