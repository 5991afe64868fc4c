"""Logging a user in on a TestClient (a full web session with MFA done)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from fastapi.testclient import TestClient

from careplane.kernel.db import Database
from careplane.kernel.identity import authn
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.web import SESSION_COOKIE
from careplane.settings import Settings


def log_in(client: TestClient, db: Database, settings: Settings, roles: Iterable[Role]) -> User:
    with db.unit_of_work() as s:
        user = create_user(
            s, email=f"user-{uuid.uuid4().hex[:8]}@example.org", display_name="Test User", roles=list(roles), email_verified=True
        )
        raw, _ = authn.start_web_session(s, user, settings, mfa_verified=True, ip="127.0.0.1", user_agent="pytest")
    client.cookies.set(SESSION_COOKIE, raw)
    return user
