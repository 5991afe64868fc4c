"""Who is making this request: a web session cookie or an API bearer token, checked on every request.

Nothing is cached in the process: a deactivated user, a revoked session or a revoked token is
refused on the very next request, by any app server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.identity.models import ApiToken, User, WebSession
from careplane.kernel.identity.secrets import new_token, token_hash
from careplane.settings import Settings

API_TOKEN_PREFIX = "cpt_"
#: Touch last-seen / last-used at most this often, so reads do not all write.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass
class Authenticated:
    user: User
    web_session: WebSession | None = None
    api_token: ApiToken | None = None

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


def from_session_cookie(session: Session, raw: str, settings: Settings) -> Authenticated | None:
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == token_hash(raw))
    ).unique().first()
    if row is None:
        return None
    web_session, user = row
    now = clock.now()
    idle_limit = web_session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if web_session.revoked_at or now >= web_session.expires_at or now >= idle_limit or not user.is_active:
        return None
    if now - web_session.last_seen_at >= TOUCH_EVERY:
        web_session.last_seen_at = now
    return Authenticated(user=user, web_session=web_session)


def from_bearer_token(session: Session, raw: str) -> Authenticated | None:
    if not raw.startswith(API_TOKEN_PREFIX):
        return None
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == token_hash(raw))
    ).unique().first()
    if row is None:
        return None
    token, user = row
    now = clock.now()
    if token.revoked_at or (token.expires_at and now >= token.expires_at) or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
    return Authenticated(user=user, api_token=token)


def revoke_all_credentials(session: Session, user: User) -> None:
    """End every session and token of a user at once (offboarding, password reset, lockout by admin)."""
    now = clock.now()
    session.execute(
        update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None)).values(revoked_at=now)
    )
    session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
