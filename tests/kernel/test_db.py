import shutil
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.audit.record import entry_for
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.sqlite_checkpoint import Checkpointer


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
    with pytest.raises(Exception, match="naive datetime"), db.unit_of_work() as s:
        user = create_user(s, email="b@example.org", display_name="B", roles=[Role.BILLER])
        user.last_login_at = datetime(2026, 1, 2)
        s.flush()


def test_unit_of_work_rolls_back_on_error(db):
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        create_user(s, email="c@example.org", display_name="C", roles=[Role.BILLER])
        s.flush()
        raise RuntimeError("boom")
    with db.unit_of_work() as s:
        assert s.scalar(select(User)) is None


def test_health_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
    assert "careplane_http_requests_total" in client.get("/metrics").text


def _rows_in_the_database_file_alone(db, tmp_path, marker: str) -> int:  # noqa: ANN001
    """Audit rows with ``marker`` in the database file without its write-ahead log: what a
    checkpoint has copied there, read by a connection of its own (not the checkpointer's report)."""
    copy = tmp_path / f"alone-{time.monotonic_ns()}.db"
    shutil.copyfile(db.engine.url.database, copy)  # the -wal file is not copied
    with closing(sqlite3.connect(copy)) as alone:
        return alone.execute("SELECT count(*) FROM audit_log WHERE reason = ?", (marker,)).fetchone()[0]


def test_sqlite_commits_leave_the_checkpoint_to_a_thread_of_its_own(db, tmp_path, monkeypatch):
    """A commit never copies the write-ahead log into the database file (that copy and its fsync
    stalled every request on the event loop); the checkpointer's thread does it, twice a second.
    Checked on the database file itself, copied without its log."""
    if db.is_postgres:
        pytest.skip("PostgreSQL checkpoints on its own")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    checkpointer = db._checkpointer
    db.dispose()  # stops the thread (the CLI commands dispose); the next write starts it again
    with monkeypatch.context() as paused:
        paused.setattr(checkpointer, "ensure_running", lambda: None)
        with db.unit_of_work() as s:
            s.add_all(
                entry_for(Actor.for_system("test"), "patient.read", outcome="allowed", reason="wal-test")
                for _ in range(300)
            )
        assert _rows_in_the_database_file_alone(db, tmp_path, "wal-test") == 0  # the commit left it in the log
    runs, failures = checkpointer.runs, checkpointer.failures  # counted since the database was opened
    checkpointer.ensure_running()
    deadline = time.monotonic() + 10
    while checkpointer.runs < runs + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.runs >= runs + 2 and checkpointer.failures == failures
    assert _rows_in_the_database_file_alone(db, tmp_path, "wal-test") == 300


def test_a_failed_checkpoint_is_not_counted_as_a_run(tmp_path):
    not_a_database = tmp_path / "garbage.db"
    not_a_database.write_bytes(b"this is not an SQLite database file, only text" * 100)
    checkpointer = Checkpointer(str(not_a_database), every=0.05)
    checkpointer.ensure_running()
    try:
        deadline = time.monotonic() + 10
        while checkpointer.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checkpointer.stop()
    assert checkpointer.failures >= 2 and checkpointer.runs == 0
