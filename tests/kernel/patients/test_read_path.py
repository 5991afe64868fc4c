"""The patient read API through Database.read: a read-only transaction whose writes (the audit row,
the credential's last-used stamp) go through the group commit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from careplane.kernel import clock
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.models import ApiToken, WebSession
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE
from tests.helpers import api_token, bearer, make_user, session_cookie


def test_a_read_stamps_the_credential_it_used_through_the_group_commit(client, db, settings, register):
    """Reads are read-only transactions (on PostgreSQL the server would refuse a write): the
    last-used stamps of the token and of the web session still land, with the read's audit row."""
    patient = register()
    doc = make_user(db, role=Role.CLINICIAN)
    token = api_token(db, doc)
    cookie = session_cookie(db, settings, doc)
    clock.travel(clock.now() + timedelta(minutes=5))  # past the once-a-minute touch
    assert client.get(f"/api/v1/patients/{patient.id}", headers=bearer(token)).status_code == 200
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get(f"/api/v1/patients/{patient.id}").status_code == 200
    with db.unit_of_work() as s:
        used = s.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == doc.id))
        seen = s.scalar(select(WebSession.last_seen_at).where(WebSession.user_id == doc.id))
        reads = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.actor_user_id == doc.id, AuditEntry.patient_id == patient.id, AuditEntry.outcome == "allowed"
            )
        )
    assert used is not None and clock.now() - used < timedelta(minutes=1)
    assert clock.now() - seen < timedelta(minutes=1)
    assert reads == 2
