"""Making people and patients for audit tests."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel.audit.keys import AuditKey, Keyring
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import Database
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.models import Patient
from careplane.kernel.web import SESSION_COOKIE
from careplane.settings import Settings
from tests.helpers import TEST_AUDIT_KEY, make_user, session_cookie

#: The keys tests seal with: the one conftest configures.
KEYRING = Keyring.of(AuditKey.from_text(TEST_AUDIT_KEY))


def add_patient(session: Session, mrn: str, given: str, family: str) -> Patient:
    patient = Patient(
        mrn=mrn,
        given_name=given,
        family_name=family,
        given_name_norm=given.lower(),
        family_name_norm=family.lower(),
        birth_date=date(1980, 5, 17),
        sex_at_birth="female",
    )
    session.add(patient)
    session.flush()
    return patient


def log_in(client: TestClient, db: Database, settings: Settings, email: str, role: Role) -> None:
    """Create a staff user with a fully verified web session and hand its cookie to the client."""
    user = make_user(db, role=role, email=email)
    client.cookies.set(SESSION_COOKIE, session_cookie(db, settings, user))


def count_entries(db: Database, **where: object) -> int:
    with db.unit_of_work() as session:
        stmt = select(func.count()).select_from(AuditEntry)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        return session.scalar(stmt) or 0
