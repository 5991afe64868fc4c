"""Helpers every test may use: a logged-in web client and API tokens, made the way the app makes them.

from tests.helpers import api_token, login

def test_something(client, db):
    user = login(client, db, role=Role.CLINICIAN)
    token = api_token(db, user)
    client.get("/api/v1/...", headers={"Authorization": f"Bearer {token}"})
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from careplane.demo import ROLE_UNITS
from careplane.kernel import units
from careplane.kernel.db import Database
from careplane.kernel.identity import authn
from careplane.kernel.identity.models import ApiToken, User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.secrets import new_token, token_hash
from careplane.kernel.identity.users import create_user
from careplane.kernel.units import Unit
from careplane.kernel.web import SESSION_COOKIE
from careplane.settings import Settings

#: The password test users get (long enough for any password policy).
TEST_PASSWORD = "correct horse battery staple 42"
#: The audit key every test seals with (tests/conftest.py puts it in the environment for jobs and the CLI).
TEST_AUDIT_KEY = "test-audit-key-not-for-production-0123456789"


def home_unit(roles: list[Role]) -> str | None:
    """The demo unit of the first staff role (patients work in no unit)."""
    return next((ROLE_UNITS.get(role) for role in roles if role.is_staff), None)


def make_user(
    db: Database,
    *,
    role: Role | str,
    email: str | None = None,
    patient_id: uuid.UUID | None = None,
    unit: str | None = None,
) -> User:
    """A user with ``role``, e-mail verified. Staff users get an MFA secret (they must have one)
    and work in their role's demo unit unless ``unit`` names another (``""``: no unit); the
    password is ``TEST_PASSWORD`` only when ``email`` is given (hashing costs time, and most
    tests never type it)."""
    role = Role(role)
    if unit is None:
        unit = home_unit([role])
    with db.unit_of_work() as session:
        return create_user(
            session,
            email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.org",
            display_name=f"Test {role.label}",
            roles=[role],
            password=TEST_PASSWORD if email else None,
            unit=unit or None,
            patient_id=patient_id,
            mfa_secret=pyotp.random_base32() if role.is_staff else None,
            email_verified=True,
        )


def session_cookie(db: Database, settings: Settings, user: User) -> str:
    """A new, fully logged-in (MFA-verified) web session for ``user``; returns the cookie value."""
    with db.unit_of_work() as session:
        raw, _ = authn.start_web_session(
            session, user, settings, mfa_verified=True, ip="127.0.0.1", user_agent="pytest"
        )
    return raw


def login(
    client: TestClient,
    db: Database,
    *,
    role: Role | str,
    email: str | None = None,
    patient_id: uuid.UUID | None = None,
    unit: str | None = None,
) -> User:
    """Create a user with ``role`` (see :func:`make_user`) and log ``client`` in as them."""
    user = make_user(db, role=role, email=email, patient_id=patient_id, unit=unit)
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    client.cookies.set(SESSION_COOKIE, session_cookie(db, settings, user))
    return user


def api_token(db: Database, user: User, *, name: str = "test token") -> str:
    """A new API token for ``user``; returns the raw ``cpt_...`` value (only its hash is stored)."""
    raw = new_token(authn.API_TOKEN_PREFIX)
    with db.unit_of_work() as session:
        session.add(ApiToken(user_id=user.id, name=name, prefix=raw[:12], token_hash=token_hash(raw)))
    return raw


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def triggers_off(db: Database) -> Iterator[Connection]:
    """A transaction in which no trigger fires, such as the audit log's append-only ones: what
    someone with the database owner's rights can do (PostgreSQL: ``session_replication_role``;
    SQLite, which cannot switch triggers off: dropped, and put back before the commit)."""
    with db.engine.begin() as connection:
        if db.is_postgres:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield connection
            return
        triggers = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
        for name, _ in triggers:
            connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield connection
        for _, sql in triggers:
            connection.exec_driver_sql(sql)


@contextmanager
def units_installed(*extra: Unit) -> Iterator[tuple[Unit, ...]]:
    """The installed units plus ``extra`` (declarations a test makes), as if they were installed."""
    before = units.installed()
    units.install([*before, *extra])
    try:
        yield units.installed()
    finally:
        units.install(None)


@contextmanager
def generic_work_queues() -> Iterator[tuple[Unit, ...]]:
    """The installed units with no queue driven from a unit's own pages (``QueueSpec.item_page``):
    the kernel's work tests claim and close the items of the units' queues (e.g. the visit queue)
    directly, as they would for a unit that keeps no record of its own."""
    before = units.installed()
    plain = [replace(u, queues=tuple(replace(q, item_page=None) for q in u.queues)) for u in before]
    units.install(plain)
    try:
        yield units.installed()
    finally:
        units.install(None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


T = TypeVar("T")


def run(db: Database, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a fresh event loop in its own thread (the browser tests leave one running in this
    one), closing the database connections the loop opened, as the app does when it stops."""

    async def then_close() -> T:
        try:
            return await coroutine
        finally:
            await db.close_loop()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, then_close()).result()
