"""SQLite's one writer is taken at a transaction's first write and let go when it ends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from careplane.kernel.db import Database
from careplane.kernel.errors import Overloaded
from careplane.kernel.patients.models import Patient
from careplane.kernel.sqlite_writer import WriterBusy

WRITE = text("UPDATE patients SET city = city WHERE 1 = 0")


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    if db.is_postgres:
        pytest.skip("SQLite's one writer")
    return db


def _writer_is_free(db: Database) -> bool:
    """Whether another thread could take the writer right now."""
    free: list[bool] = []

    def probe() -> None:
        taken = db._sqlite_writer.try_acquire()  # noqa: SLF001 - the lock under test
        if taken:
            db._sqlite_writer.release()  # noqa: SLF001
        free.append(taken)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return free[0]


def test_a_unit_of_work_that_only_reads_takes_no_writer(sqlite_db):
    with sqlite_db.unit_of_work() as session:
        session.scalars(select(Patient)).all()
        assert _writer_is_free(sqlite_db)


def test_the_first_write_takes_the_writer_until_the_commit(sqlite_db):
    with sqlite_db.unit_of_work() as session:
        session.scalars(select(Patient)).all()
        session.execute(WRITE)
        assert not _writer_is_free(sqlite_db)
    assert _writer_is_free(sqlite_db)


def test_a_rolled_back_write_lets_go_too(sqlite_db):
    with pytest.raises(RuntimeError), sqlite_db.unit_of_work() as session:
        session.execute(WRITE)
        raise RuntimeError("undo")
    assert _writer_is_free(sqlite_db)


def test_a_read_that_locks_rows_takes_the_writer(sqlite_db):
    with sqlite_db.unit_of_work() as session:
        session.scalars(select(Patient).with_for_update()).all()
        assert not _writer_is_free(sqlite_db)


def test_a_savepoint_takes_the_writer(sqlite_db):
    with sqlite_db.unit_of_work() as session, session.begin_nested():
        session.scalars(select(Patient)).all()  # the SAVEPOINT goes out before this read
        assert not _writer_is_free(sqlite_db)


def test_a_nested_writer_in_the_same_thread_gives_up_with_a_busy_error(sqlite_db):
    impatient = Database(sqlite_db.url, write_wait_seconds=0.1)
    try:
        with impatient.unit_of_work() as outer:
            outer.execute(WRITE)
            with pytest.raises(WriterBusy) as refused, impatient.unit_of_work() as inner:
                inner.execute(WRITE)
    finally:
        impatient.dispose()
    assert isinstance(refused.value, Overloaded)
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
