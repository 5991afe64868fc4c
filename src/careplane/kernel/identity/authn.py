"""Who is making this request: a web session cookie or an API bearer token, checked on every request.

Nothing is cached in the process: a deactivated user, a revoked session or a revoked token is
refused on the very next request, by any app server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.db import SessionOrReader, fetch, orm_session, write_soon
from careplane.kernel.identity import confirmation
from careplane.kernel.identity.models import ApiToken, User, UserRole, WebSession
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.secrets import new_token, token_hash
from careplane.kernel.org.models import OrgUnit, UnitStatus
from careplane.kernel.prepared import Prepared
from careplane.kernel.units import function_of
from careplane.settings import Settings

API_TOKEN_PREFIX = "cpt_"
#: Touch last-seen / last-used at most this often, so reads do not all write.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The user behind a credential: what the access policy needs, and nothing more."""

    user_id: uuid.UUID
    email: str
    roles: frozenset[Role]
    unit: str | None
    unit_function: str | None
    patient_id: uuid.UUID | None
    #: When the account's e-mail address was confirmed (None: not yet; see identity.confirmation).
    email_verified_at: datetime | None = None


def _unit_function(unit: str | None, unit_status: str | None, function: str | None) -> str | None:
    return function_of(
        unit, unit_found=unit_status is not None, active=unit_status == UnitStatus.ACTIVE, function=function
    )


# Prepared once: API calls come at high rates, and SQLAlchemy's work around a statement costs
# more than the query itself. One row per role of the token's user (a user without roles gets
# one, role NULL).
_TOKEN_LOOKUP = Prepared(
    select(
        ApiToken.id,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.id,
        User.email,
        User.unit,
        User.patient_id,
        User.is_active,
        User.email_verified_at,
        OrgUnit.status,
        OrgUnit.function,
        UserRole.role,
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(OrgUnit, OrgUnit.code == User.unit)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
# Core statements (tables, not entities): run with several parameter sets by the group commit.
_sessions, _tokens = WebSession.__table__, ApiToken.__table__
_SESSION_TOUCH = (
    update(_sessions).where(_sessions.c.id == bindparam("session_id")).values(last_seen_at=bindparam("now"))
)
_TOKEN_TOUCH = update(_tokens).where(_tokens.c.id == bindparam("token_id")).values(last_used_at=bindparam("now"))


@dataclass
class Authenticated:
    principal: Principal
    session: SessionOrReader = field(repr=False)
    web_session: WebSession | None = None
    api_token_id: uuid.UUID | None = None
    _user: User | None = field(default=None, repr=False)

    @property
    def user(self) -> User:
        """The user as an ORM object, read on first use (API calls mostly never need it)."""
        if self._user is None:
            self._user = orm_session(self.session).get(User, self.principal.user_id)
            assert self._user is not None
        return self._user

    def refuse_unconfirmed(self) -> None:
        """Raise ``EmailUnconfirmed`` for a self-registered account whose address is not confirmed yet."""
        p = self.principal
        confirmation.refuse_unconfirmed(p.email, p.roles, p.email_verified_at)

    @property
    def needs_mfa(self) -> bool:
        """A web session whose second factor is still owed."""
        return self.web_session is not None and not self.web_session.mfa_verified


def start_web_session(
    session: Session, user: User, settings: Settings, *, mfa_verified: bool, ip: str | None, user_agent: str | None
) -> tuple[str, WebSession]:
    """Create a session and return the cookie value (shown once, stored hashed)."""
    raw = new_token()
    now = clock.now()
    web_session = WebSession(
        token_hash=token_hash(raw),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
        mfa_verified=mfa_verified,
        ip=ip,
        user_agent=(user_agent or "")[:300],
    )
    session.add(web_session)
    return raw, web_session


def from_session_cookie(target: SessionOrReader, raw: str, settings: Settings) -> Authenticated | None:
    session = orm_session(target)
    row = (
        session.execute(
            select(WebSession, User, OrgUnit.status, OrgUnit.function)
            .join(User, User.id == WebSession.user_id)
            .outerjoin(OrgUnit, OrgUnit.code == User.unit)
            .where(WebSession.token_hash == token_hash(raw))
        )
        .unique()
        .first()
    )
    if row is None:
        return None
    web_session, user, unit_status, function = row
    now = clock.now()
    idle_limit = web_session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if web_session.revoked_at or now >= web_session.expires_at or now >= idle_limit or not user.is_active:
        return None
    if now - web_session.last_seen_at >= TOUCH_EVERY:
        write_soon(session, _SESSION_TOUCH, [{"session_id": web_session.id, "now": now}])
    principal = Principal(
        user_id=user.id,
        email=user.email,
        roles=user.roles,
        unit=user.unit,
        unit_function=_unit_function(user.unit, unit_status, function),
        patient_id=user.patient_id,
        email_verified_at=user.email_verified_at,
    )
    return Authenticated(principal=principal, session=session, web_session=web_session, _user=user)


def from_bearer_token(target: SessionOrReader, raw: str) -> Authenticated | None:
    if not raw.startswith(API_TOKEN_PREFIX):
        return None
    rows = fetch(target, _TOKEN_LOOKUP, token_hash=token_hash(raw))
    if not rows:
        return None
    (
        token_id,
        revoked_at,
        expires_at,
        last_used_at,
        user_id,
        email,
        unit,
        patient_id,
        is_active,
        email_verified_at,
        unit_status,
        function,
        _,
    ) = rows[0]
    now = clock.now()
    if revoked_at or (expires_at and now >= expires_at) or not is_active:
        return None
    if last_used_at is None or now - last_used_at >= TOUCH_EVERY:
        write_soon(target, _TOKEN_TOUCH, [{"token_id": token_id, "now": now}])
    roles = frozenset(Role(row[-1]) for row in rows if row[-1])
    principal = Principal(
        user_id=user_id,
        email=email,
        roles=roles,
        unit=unit,
        unit_function=_unit_function(unit, unit_status, function),
        patient_id=patient_id,
        email_verified_at=email_verified_at,
    )
    return Authenticated(principal=principal, session=target, api_token_id=token_id)


def revoke_all_credentials(session: Session, user: User) -> None:
    """End every session and token of a user at once (offboarding, password reset, lockout by admin)."""
    now = clock.now()
    session.execute(
        update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None)).values(revoked_at=now)
    )
    session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
