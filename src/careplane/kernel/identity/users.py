"""Creating and finding user accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.errors import Conflict
from careplane.kernel.identity.models import User, UserRole
from careplane.kernel.identity.passwords import hash_password
from careplane.kernel.identity.roles import Role


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    roles: Iterable[Role],
    password: str | None = None,
    unit: str | None = None,
    patient_id: uuid.UUID | None = None,
    mfa_secret: str | None = None,
    email_verified: bool = False,
) -> User:
    email = normalise_email(email)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(f"An account with the e-mail {email} already exists.")
    now = clock.now()
    user = User(
        email=email,
        display_name=display_name,
        password_hash=hash_password(password) if password else None,
        password_changed_at=now if password else None,
        unit=unit,
        patient_id=patient_id,
        mfa_secret=mfa_secret,
        mfa_enabled_at=now if mfa_secret else None,
        email_verified_at=now if email_verified else None,
        failed_login_count=0,
        is_active=True,
    )
    user.role_rows = [UserRole(role=Role(r).value) for r in roles]
    session.add(user)
    session.flush()
    return user
