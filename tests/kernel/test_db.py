import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.audit.record import entry_for
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user


def test_times_come_back_aware_utc(db):
    eastern = timezone(timedelta(hours=-5))
    with db.unit_of_work() as s:
        user = create_user(s, email="A@Example.org", display_name="A", roles=[Role.BILLER])
        user.last_login_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=eastern)
    with db.unit_of_work() as s:
        got = s.scalar(select(User))
        assert got.email == "a@example.org"
        assert got.last_login_at == datetime(2026, 1, 2, 8, 4, 5, tzinfo=UTC)
        assert got.last_login_at.tzinfo is not None
        assert got.roles == {Role.BILLER}


def test_naive_datetimes_are_refused(db):
    with pytest.raises(Exception, match="naive datetime"):
        with db.unit_of_work() as s:
            user = create_user(s, email="b@example.org", display_name="B", roles=[Role.BILLER])
            user.last_login_at = datetime(2026, 1, 2)
            s.flush()


def test_unit_of_work_rolls_back_on_error(db):
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            create_user(s, email="c@example.org", display_name="C", roles=[Role.BILLER])
            s.flush()
            raise RuntimeError("boom")
    with db.unit_of_work() as s:
        assert s.scalar(select(User)) is None


def test_health_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
    assert "careplane_http_requests_total" in client.get("/metrics").text


def test_sqlite_commits_leave_the_checkpoint_to_a_thread_of_its_own(db):
    """A commit never copies the write-ahead log into the database file (that copy and its fsync
    stalled every request on the event loop); the checkpointer's thread does it, twice a second."""
    if db.is_postgres:
        pytest.skip("PostgreSQL checkpoints on its own")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    db.dispose()  # stops the thread (the CLI commands dispose); the next write starts it again
    with db.unit_of_work() as s:
        s.add_all(entry_for(Actor.for_system("test"), "patient.read", outcome="allowed") for _ in range(300))
    checkpointer = db._checkpointer
    runs = checkpointer.runs
    deadline = time.monotonic() + 10
    while checkpointer.runs <= runs + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.runs > runs + 1
    busy, in_log, moved = checkpointer.checkpoint()
    assert busy == 0 and 0 <= moved <= in_log  # PASSIVE: it never waits, and copies what readers allow
